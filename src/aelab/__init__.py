"""aelab: autoencoders as a dimensionality-reduction tool, always measured against PCA at the same code size.

import aelab
reducer = aelab.load("outputs/train/runs/<run>/checkpoints/last.ckpt")   # an AutoEncoderReducer
codes = reducer.transform(images)
"""

from typing import Any

__version__ = "0.1.0"


def load(ckpt_path: Any, device: str = "auto") -> Any:
    """A fitted ``aelab.AutoEncoderReducer`` (scikit-learn transformer) from a checkpoint train.py wrote."""
    from aelab.reducer import load as load_reducer

    return load_reducer(ckpt_path, device=device)


def __getattr__(name: str) -> Any:
    if name == "AutoEncoderReducer":  # imported on first use: `import aelab` stays light
        from aelab.reducer import AutoEncoderReducer

        return AutoEncoderReducer
    raise AttributeError(f"module 'aelab' has no attribute {name!r}")
