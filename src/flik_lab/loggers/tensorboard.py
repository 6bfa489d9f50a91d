"""Lightning's TensorBoard logger, or one line naming flik-lab's `tensorboard` extra when it is missing."""

from lightning.pytorch.loggers import TensorBoardLogger

from flik_lab.utils.extras import require


def tensorboard_logger(**kwargs) -> TensorBoardLogger:
    """`TensorBoardLogger(**kwargs)` once the `tensorboard` package is known to be importable."""
    require("tensorboard", "logger=tensorboard")
    return TensorBoardLogger(**kwargs)
