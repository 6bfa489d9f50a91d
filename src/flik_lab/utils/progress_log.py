"""Log lines for the phases that run for minutes outside a Trainer's loop: fitting the small networks a
run needs before it trains (digit readers, domain classifiers) and building caches of tokenized corpora."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

EVERY_S = 30.0  # at most one progress line per this many seconds, besides the first and the last


def duration(seconds: float) -> str:
    """`8.2 s`, `41 s`, `6.5 min`."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.1f} min"


def logged_epochs(epochs: int, what: str, log: logging.Logger, every_s: float = EVERY_S) -> Iterator[int]:
    """`range(epochs)`, logging as it starts and after epochs, at most every `every_s` seconds and after the
    last one: `fitting X: epoch 3/30 (41 s, about 6.2 min left)`."""
    log.info("%s: %d epoch%s", what, epochs, "" if epochs == 1 else "s")
    started = last = time.monotonic()
    for epoch in range(epochs):
        yield epoch
        now = time.monotonic()
        if now - last >= every_s or epoch + 1 == epochs:
            last, spent = now, now - started
            left = spent / (epoch + 1) * (epochs - epoch - 1)
            more = f", about {duration(left)} left" if epoch + 1 < epochs else ""
            log.info("%s: epoch %d/%d (%s%s)", what, epoch + 1, epochs, duration(spent), more)


@contextmanager
def logged_phase(what: str, log: logging.Logger) -> Iterator[None]:
    """Log `what` as the block starts and `what: done in 12 s` when it ends."""
    log.info("%s ...", what)
    started = time.monotonic()
    yield
    log.info("%s: done in %s", what, duration(time.monotonic() - started))
