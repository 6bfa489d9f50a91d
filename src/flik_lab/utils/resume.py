"""`ckpt_path=last`: continue a run in its own directory, e.g. a SLURM job requeued after preemption."""

from pathlib import Path

LAST = "last"


def resume_path(ckpt_path: str | None, output_dir: Path) -> str | None:
    """`ckpt_path` itself, or for `last` the newest resumable checkpoint of `output_dir`:
    `checkpoints/last.ckpt` (every epoch, and on SIGTERM) or Lightning's `hpc_ckpt_<n>.ckpt` (its SLURM
    SIGUSR1 handler); None when it has neither yet, so a requeueable job's first start trains from scratch."""
    if ckpt_path != LAST:
        return ckpt_path
    candidates = [output_dir / "checkpoints" / "last.ckpt", *output_dir.glob("hpc_ckpt_*.ckpt")]
    existing = [path for path in candidates if path.is_file()]
    return str(max(existing, key=lambda path: path.stat().st_mtime_ns)) if existing else None
