"""Lightning's Rich progress bar, drawn only where stdout is a terminal."""

from lightning.pytorch.callbacks import RichProgressBar
from rich.console import Console


class TerminalProgressBar(RichProgressBar):
    """`RichProgressBar` on a terminal; off where stdout is a file or a pipe (a batch job, a sweep, `| tee`).

    There Rich would print each bar's last state once, wrapped at 80 columns; `EpochReport`'s line per epoch
    says what it would have said. Rich's `FORCE_TERMINAL=1` turns the bar back on.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if not Console().is_terminal:
            self.disable()
