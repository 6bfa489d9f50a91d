"""submitit's SLURM launcher, refusing a sweep before any job starts where SLURM is not installed."""

import shutil
from collections.abc import Sequence

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher  # the `slurm` extra

from flik_lab.utils.errors import InputError


class CheckedSlurmLauncher(SlurmLauncher):
    """`hydra/launcher=slurm`: one line naming what is missing instead of submitit's RuntimeError."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        absent = [tool for tool in ("sbatch", "srun") if shutil.which(tool) is None]
        if absent:
            verb = "is" if len(absent) == 1 else "are"
            raise InputError(
                f"hydra/launcher=slurm needs SLURM, but {' and '.join(absent)} {verb} not on the PATH here; "
                "run the sweep on a SLURM login node, or try it locally with hydra/launcher=local_submitit"
            )
        return super().launch(job_overrides, initial_job_idx)
