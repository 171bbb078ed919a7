"""Plain nn.Modules: encoders map x -> z, decoders z -> x_hat; besides them the VAE's Gaussian head and posterior,
the input corruptions of denoising, and arithmetic on codes. They know shapes, not training."""

from aelab.nets.activations import make_activation
from aelab.nets.conv import ConvDecoder, ConvEncoder
from aelab.nets.mlp import MLPDecoder, MLPEncoder

__all__ = ["ConvDecoder", "ConvEncoder", "MLPDecoder", "MLPEncoder", "make_activation"]
