"""End every job's external runs, also when the job raised, so the next job of a sweep starts clean."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager

INTERRUPTED_EXIT_CODE = 143  # 128 + SIGTERM


def finish_wandb(failed: bool, interrupted: bool = False) -> None:
    """Finish the active W&B run, marked failed (exit code 1) or interrupted (143, SIGTERM) where it was,
    with `flik_lab/status` in its summary; no-op when wandb was never imported."""
    wandb = sys.modules.get("wandb")
    if wandb is None or wandb.run is None:
        return
    status = "interrupted" if interrupted else "failed" if failed else "finished"
    wandb.run.summary["flik_lab/status"] = status
    wandb.finish(exit_code=INTERRUPTED_EXIT_CODE if interrupted else int(failed))


@contextmanager
def finished_runs() -> Iterator[None]:
    """Run a job's body; afterwards finish its W&B run: finished, failed, or interrupted by SIGTERM."""
    try:
        yield
    except SystemExit as exc:
        finish_wandb(failed=exc.code not in (0, None), interrupted=exc.code == INTERRUPTED_EXIT_CODE)
        raise
    except BaseException:
        finish_wandb(failed=True)
        raise
    finish_wandb(failed=False)
