"""DDP under Hydra multirun: each job's extra processes run that job, not the whole sweep again.

Lightning starts the other ranks by re-running the command line (``sys.argv``) with ``hydra.run.dir`` set. Inside a
``-m`` sweep that command is the sweep itself, so rank 1 relaunched every job and wrote a second sweep folder.
``DDPStrategy`` here starts them with this job's own overrides and output folder instead; ``job_scope`` undoes what
the launch left in the parent process (rank variables, the process group) so the sweep's next job starts clean.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.strategies.launchers import subprocess_script
from pytorch_lightning.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

LAUNCH_ENV = ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def job_command(local_rank: int) -> tuple[list[str], str]:
    """The command for rank ``local_rank`` of this Hydra job: its overrides, run mode, its folder."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd, to_absolute_path

    import __main__

    if __main__.__spec__ is None:
        command = [sys.executable, to_absolute_path(sys.argv[0])]
    else:
        command = [sys.executable, "-m", __main__.__spec__.name]
    hydra_cfg = HydraConfig.get()
    command += list(hydra_cfg.overrides.task)
    command += [
        f'hydra.run.dir="{hydra_cfg.runtime.output_dir}"',
        f"hydra.job.name=train_ddp_process_{local_rank}",
        "hydra.output_subdir=null",
    ]
    return command, get_original_cwd()


class _JobLauncher(_SubprocessScriptLauncher):
    def launch(self, function: Any, *args: Any, trainer: pl.Trainer | None = None, **kwargs: Any) -> Any:
        original = subprocess_script._hydra_subprocess_cmd
        subprocess_script._hydra_subprocess_cmd = job_command
        try:
            return super().launch(function, *args, trainer=trainer, **kwargs)
        finally:
            subprocess_script._hydra_subprocess_cmd = original


class DDPStrategy(pl.strategies.DDPStrategy):
    """Lightning's DDPStrategy whose child processes run this Hydra job only (see the module docstring)."""

    def _configure_launcher(self) -> None:
        super()._configure_launcher()
        if type(self._launcher) is _SubprocessScriptLauncher:
            self._launcher = _JobLauncher(self.cluster_environment, self.num_processes, self.num_nodes)


@contextlib.contextmanager
def job_scope() -> Iterator[None]:
    """Around one training job: afterwards, the launching process forgets the DDP group and rank variables it
    created, so the next job of a sweep launches its own ranks rather than waiting for ones that have exited."""
    launched_here = "LOCAL_RANK" not in os.environ
    before = {key: os.environ.get(key) for key in LAUNCH_ENV}
    try:
        yield
    finally:
        if launched_here:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                dist.destroy_process_group()
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
