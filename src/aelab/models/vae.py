"""The variational autoencoder: the one subclass of AutoEncoder (Kingma & Welling 2014, beta-VAE of Higgins 2017).

Its encoder gives a distribution q(z|x) (a DiagonalGaussian); training decodes a reparameterised sample of it and
adds the closed-form KL to the N(0, I) prior, weighted by ``beta`` (ramped up from 0 over ``kl_warmup_steps``).
Everything else (noise, penalties, optimizer, metrics, checkpoints, panels) is the AutoEncoder's. Codes for probes,
PCA comparisons and latent averages are the posterior means, so they are deterministic like any AE's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from aelab.models.autoencoder import AutoEncoder, Spec
from aelab.models.metrics import CodeStatistics
from aelab.models.penalties import StepOutputs
from aelab.nets.gaussian import DiagonalGaussian, PosteriorMean
from aelab.nets.latent import codes_between


class VAE(AutoEncoder):
    """x -> encoder -> q(z|x) -> z -> decoder -> x_hat; loss = -ELBO with the KL weighted by beta."""

    def __init__(
        self,
        encoder: Spec,
        decoder: Spec,
        input_shape: Sequence[int],
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        name: str = "vae",
        **kwargs: Any,
    ) -> None:
        if beta < 0:
            raise ValueError(
                f"model {name}: beta (the KL weight) must be >= 0, got {beta}; 1 is the plain VAE, above 1 a "
                "beta-VAE with a stronger pull to the prior"
            )
        if kl_warmup_steps < 0:
            raise ValueError(
                f"model {name}: kl_warmup_steps must be >= 0 (0: no warm-up), got {kl_warmup_steps}; it is the "
                "number of training steps over which beta ramps up from 0"
            )
        if kwargs.get("code_transform") is not None:
            raise ValueError(
                f"model {name}: a VAE's code is a sample of its posterior, so a code transform (penalty=ksparse) "
                "does not apply; drop it, or use model=dense for k-sparse codes"
            )
        super().__init__(encoder, decoder, input_shape, name=name, **kwargs)

    # -- shapes ----------------------------------------------------------------------------------------------
    def _probe_code(self, probe: torch.Tensor) -> torch.Tensor:
        """The shape check's code is the posterior mean: the encoder must give a distribution."""
        posterior = self.encoder(probe)
        if not isinstance(posterior, DiagonalGaussian):
            raise TypeError(
                f"model {self.name}: the encoder {type(self.encoder).__name__} gives a "
                f"{type(posterior).__name__}, not a DiagonalGaussian, so it cannot be a VAE's encoder. Wrap "
                "it: aelab.nets.gaussian.GaussianEncoder(body=<the encoder>, latent_dim=...). If this is "
                "VAE.load_from_checkpoint, the checkpoint holds a deterministic autoencoder: load it with "
                "AutoEncoder.load_from_checkpoint (evaluate.py picks the right class itself)."
            )
        return posterior.mode()

    # -- the model as a tool ---------------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> DiagonalGaussian:
        """q(z|x)."""
        return self.encoder(x)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean: deterministic (in train mode too), so probes and PCA comparisons see stable codes."""
        return self.posterior(x).mode()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images decoded from codes drawn from the prior N(0, I) (``generator``: a CPU one, for fixed draws)."""
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.decode(z.to(self.device))

    def interpolate(self, x_a: torch.Tensor, x_b: torch.Tensor, steps: int) -> torch.Tensor:
        """Images decoded along the straight line from each x_a's posterior mean to its x_b's, both ends included:
        (B, steps, C, H, W). A smooth path of plausible images is what the KL term buys over a plain AE."""
        z = codes_between(self.encode(x_a), self.encode(x_b), steps)
        return self.decode(z.flatten(0, 1)).view(len(x_a), steps, *self.input_shape)

    # -- training --------------------------------------------------------------------------------------------
    def beta_now(self) -> float:
        """The KL weight at this global step: beta, ramped linearly from 0 over the first kl_warmup_steps."""
        beta, warmup = float(self.hparams.beta), int(self.hparams.kl_warmup_steps)
        return beta if warmup == 0 else beta * min(1.0, self.global_step / warmup)

    def objective(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor], StepOutputs]:
        """-ELBO: recon + beta * KL, plus any penalties, which see the sampled code in ``out.z``.

        recon is the AutoEncoder's loss summed over each image's pixels and averaged over the batch, so it is on
        the ELBO's scale: with ``loss: bce`` it is -log p(x|z) under a Bernoulli likelihood, with ``mse`` a Gaussian
        one up to a constant. Training decodes a reparameterised sample; evaluation decodes the mean and weights the
        KL by 1, so val/loss is the negative ELBO and compares across epochs while beta warms up.
        """
        x_in = self.noise(x) if (self.noise is not None and self.training) else x
        posterior = self.posterior(x_in)
        z = posterior.sample() if self.training else posterior.mode()
        x_hat = self.decoder(z)
        out = StepOutputs(x=x, x_in=x_in, z=z, x_hat=x_hat, encoder=PosteriorMean(self.encoder), decoder=self.decoder)
        recon = self.loss_fn(x_hat, x) * math.prod(self.input_shape)
        kl = posterior.kl().mean()
        beta = self.beta_now() if self.training else 1.0
        terms = {"recon": recon, "kl": kl, "elbo": -(recon + kl).detach(), "beta": recon.new_tensor(beta)}
        if not self.training:
            self._eval_terms = terms  # read by _eval_step, which logs val/ and test/ recon and kl
        return self.add_penalties(recon + beta * kl, out, terms)

    @property
    def is_regularised(self) -> bool:
        """Always: the ELBO's terms (recon, kl, elbo, beta) are logged on every logged training step."""
        return True

    def _eval_step(self, batch: Any, stage: str, metrics: nn.Module | None, code_stats: CodeStatistics | None) -> None:
        super()._eval_step(batch, stage, metrics, code_stats)
        self.log_dict({f"{stage}/{key}": self._eval_terms[key] for key in ("recon", "kl")}, sync_dist=True)
