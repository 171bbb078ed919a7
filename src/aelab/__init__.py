"""aelab: autoencoders as a dimensionality-reduction tool, always measured against PCA at the same code size."""

__version__ = "0.1.0"
