"""Lightning CheckpointIO that writes a sha256 digest beside every checkpoint and checks it when resuming.

Set in conf/trainer/default.yaml (``plugins``), so every run's checkpoints carry ``<file>.ckpt.sha256``;
aelab.checkpoints.load_checkpoint (evaluate.py, resume) refuses a file that no longer matches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.plugins.io import TorchCheckpointIO

from aelab.checkpoints import digest_path, verify_digest, write_digest


def _is_local(path: str | Path) -> bool:
    protocol = get_filesystem(str(path)).protocol
    return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))


class DigestCheckpointIO(TorchCheckpointIO):
    """torch.save as usual, then ``<path>.sha256``; resume verifies it before torch.load."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        super().save_checkpoint(checkpoint, path, storage_options)
        if _is_local(path):
            write_digest(path)

    def load_checkpoint(self, path: str | Path, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if _is_local(path) and Path(path).is_file():
            verify_digest(path)
        return super().load_checkpoint(path, *args, **kwargs)

    def remove_checkpoint(self, path: str | Path) -> None:
        super().remove_checkpoint(path)
        if _is_local(path):
            digest_path(path).unlink(missing_ok=True)
