"""channels_last and torch.compile keep the model's results and its checkpoint format."""

from __future__ import annotations

import pytest
import torch

from aelab.build import build
from aelab.data.synthetic import make_intel_tree
from aelab.pipeline import train


def test_channels_last_gives_the_same_outputs(make_config):
    plain = build(make_config("model=conv_deep", "data=intel", "data.image_size=32").model).eval()
    fast = build(make_config("model=conv_deep", "data=intel", "data.image_size=32", "model.channels_last=true").model)
    fast.load_state_dict(plain.state_dict())
    fast.eval().configure_model()
    x = torch.rand(2, 3, 32, 32)
    x_cl, _ = fast.on_after_batch_transfer((x.clone(), torch.zeros(2)), 0)
    assert x_cl.is_contiguous(memory_format=torch.channels_last)
    assert next(fast.encoder.parameters()).dim() == 4 and fast.encoder.net[0].weight.is_contiguous(
        memory_format=torch.channels_last
    )
    assert torch.allclose(plain(x), fast(x_cl), atol=1e-5)


@pytest.mark.slow
def test_compiled_model_trains_and_saves_plain_parameter_names(make_config, tmp_path):
    root = make_intel_tree(tmp_path / "intel", per_class=2, test_per_class=1)
    cfg = make_config("model=conv_deep", "data=intel", f"data.root={root}", "data.image_size=32", "model.compile=true")
    with pytest.warns(UserWarning):
        train(cfg)
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert not any("_orig_mod" in key for key in ckpt["state_dict"])
