"""Offline W&B run files as `wandb sync` would upload them, read once W&B's writer has flushed them."""

import time
from pathlib import Path


def run_records(run_dir: Path, *needles: bytes, timeout: float = 30.0) -> bytes:
    """The bytes of `run_dir`'s `run-*.wandb` once they hold every needle, or after `timeout` seconds.

    W&B's writer is another process: on a busy machine its last records can reach the file a moment after
    `wandb.finish()` returns, so the file is read again until they are there (the caller asserts them).
    """
    deadline = time.monotonic() + timeout
    while True:
        records = next(run_dir.glob("run-*.wandb")).read_bytes()
        if all(needle in records for needle in needles) or time.monotonic() > deadline:
            return records
        time.sleep(0.2)
