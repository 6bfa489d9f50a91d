"""Per-epoch cross-attention heatmaps of a few fixed validation sentences: PNGs in the run and loggers."""

from pathlib import Path

import lightning as L
import matplotlib.pyplot as plt
import torch

from flik_lab.images import figure_to_tensor
from flik_lab.models.connect import trainer_data
from flik_lab.models.contracts import SentencePairData
from flik_lab.plots.cross_attention import Aligned, cross_attention_figure
from flik_lab.utils.lightning_internals import logging_step
from flik_lab.utils.log_image import log_image


def pad_rows(ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists -> `(N, S)` padded at the end with `pad_id`, and the lengths `(N,)`."""
    lengths = torch.tensor([len(row) for row in ids])
    tokens = torch.full((len(ids), int(lengths.max())), pad_id, dtype=torch.long)
    for i, row in enumerate(ids):
        tokens[i, : len(row)] = torch.tensor(row)
    return tokens, lengths


def aligned_translations(
    module: L.LightningModule, data: SentencePairData, sources: list[str]
) -> list[Aligned]:
    """Greedy translations of `sources` with their cross-attention, as token strings for a plot."""
    tokens, lengths = pad_rows(data.encode_source(sources), module.hparams.pad_id)
    was_training = module.training
    module.eval()
    found = module.translate_ids(tokens.to(module.device), lengths.to(module.device))
    module.train(was_training)
    aligned = []
    for row, (hypothesis,) in enumerate(found):
        source = data.source_tokens(tokens[row, : lengths[row]].tolist())
        target = data.target_tokens(hypothesis.tokens + [module.hparams.eos_id])
        weights = hypothesis.attention[..., : len(source)].float().cpu().numpy()
        text = data.decode_target([hypothesis.tokens])[0]
        aligned.append(Aligned(source, target, weights, title=f"{sources[row]}\n-> {text}"))
    return aligned


class CrossAttentionHeatmaps(L.Callback):
    """After each validation epoch, plot the source x target cross-attention of the first `num_sentences`
    validation pairs, translated greedily."""

    def __init__(self, output_dir: str, num_sentences: int = 4):
        self.output_dir = Path(output_dir)
        self.num_sentences = num_sentences

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        data = trainer_data(trainer, SentencePairData, self)
        sources = [source for source, _ in data.val_pairs(self.num_sentences)]
        fig = cross_attention_figure(aligned_translations(pl_module, data, sources))
        self.output_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.output_dir / f"epoch_{trainer.current_epoch:03d}.png", dpi=100)
        log_image(trainer.loggers, "cross_attention", figure_to_tensor(fig), step=logging_step(trainer))
        plt.close(fig)
