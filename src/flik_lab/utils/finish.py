"""End every job's external runs, also when the job raised, so the next job of a sweep starts clean."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager


def finish_wandb(failed: bool) -> None:
    """Finish the active W&B run (exit code 1 marks it failed); no-op when wandb was never imported."""
    wandb = sys.modules.get("wandb")
    if wandb is not None and wandb.run is not None:
        wandb.finish(exit_code=1 if failed else 0)


@contextmanager
def finished_runs() -> Iterator[None]:
    """Run a job's body; afterwards finish its W&B run, marked failed if the body raised."""
    try:
        yield
    except BaseException:
        finish_wandb(failed=True)
        raise
    finish_wandb(failed=False)
