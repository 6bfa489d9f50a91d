"""Per-epoch attention heatmaps of a few fixed validation reviews: PNGs in the run, images in the loggers."""

from pathlib import Path

import lightning as L
import matplotlib.pyplot as plt

from flik_lab.images import figure_to_tensor
from flik_lab.models.connect import trainer_data
from flik_lab.models.contracts import ReviewData
from flik_lab.plots.attention import attention_figure
from flik_lab.plots.explained import explain_ids
from flik_lab.utils.lightning_internals import logging_step
from flik_lab.utils.log_image import log_image


class AttentionHeatmaps(L.Callback):
    """After each validation epoch, plot what the model attends to in the first `num_reviews` reviews
    (each whole, as far as the model read it; `max_tokens` cuts them shorter)."""

    def __init__(self, output_dir: str, num_reviews: int = 4, max_tokens: int | None = None):
        self.output_dir = Path(output_dir)
        self.num_reviews, self.max_tokens = num_reviews, max_tokens

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        data = trainer_data(trainer, ReviewData, self)
        ids = data.encode(data.val_texts(self.num_reviews))
        labels = [int(label) for label in data.val_set.labels[: len(ids)]]
        reviews = explain_ids(pl_module, ids, data.decode_tokens)
        if reviews[0].weights is None:  # this encoder has no attention weights
            return
        for review, label in zip(reviews, labels, strict=True):
            review.label = label
        fig = attention_figure(reviews, self.max_tokens)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.output_dir / f"epoch_{trainer.current_epoch:03d}.png", dpi=100)
        step = logging_step(trainer)
        log_image(trainer.loggers, "attention", figure_to_tensor(fig), step=step)
        plt.close(fig)
