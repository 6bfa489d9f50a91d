"""`ckpt_path=last`: continue a run in its own directory, e.g. a SLURM job requeued after preemption."""

import logging
import os
import re
from pathlib import Path

from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.checkpoint_file import LAST
from flik_lab.utils.errors import InputError

log = logging.getLogger(__name__)
PARTIAL = re.compile(r"\..+\.(\d+)\.tmp")  # AtomicCheckpointIO's file of process <pid>, before its rename


def resume_path(ckpt_path: str | None, output_dir: Path) -> str | None:
    """`ckpt_path` itself, or for `last` the newest complete checkpoint of `output_dir`: any `*.ckpt` under
    `checkpoints/` (`last.ckpt`, a best one written just before a kill -9) or Lightning's
    `hpc_ckpt_<n>.ckpt`; None when there is none yet, so a requeueable job's first start trains from
    scratch. Partial files that a killed process left behind are removed first."""
    if ckpt_path != LAST:
        return ckpt_path
    remove_partial_checkpoints(output_dir / "checkpoints")
    candidates = [*(output_dir / "checkpoints").glob("*.ckpt"), *output_dir.glob("hpc_ckpt_*.ckpt")]
    for path in sorted(candidates, key=lambda p: p.stat().st_mtime_ns, reverse=True):
        try:
            read_checkpoint(path)
        except InputError as exc:
            log.warning("ckpt_path=last: skipping %s (%s)", path, exc)
            continue
        return str(path)
    return None


def remove_partial_checkpoints(checkpoints: Path) -> None:
    """Delete the temporary checkpoint files of processes that no longer run (killed mid-write)."""
    for path in checkpoints.glob(".*.tmp") if checkpoints.is_dir() else []:
        match = PARTIAL.fullmatch(path.name)
        if match and not _running(int(match.group(1))):
            log.warning("removing %s, left by a process killed while writing it", path)
            path.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
