"""`flik-lab explain ckpt_path=... text="..."`: a text classifier's prediction and each token's weight."""

import logging
from pathlib import Path

import matplotlib.pyplot as plt
from omegaconf import DictConfig

from flik_lab.commands.app import refuse_to_overwrite, run_command
from flik_lab.data.imdb import IMDBDataModule
from flik_lab.models.text_classifier import TextClassifier
from flik_lab.plots.attention import attention_figure
from flik_lab.plots.explained import Explained, explain_ids
from flik_lab.utils.checkpoint import check_vocabulary_fits, read_checkpoint
from flik_lab.utils.errors import InputError

log = logging.getLogger(__name__)


def explain(cfg: DictConfig) -> Explained:
    """Predict `cfg.text`, print the tokens with their weights and write the heatmap PNG."""
    if not cfg.text.strip():
        raise InputError('text is empty; expected a review, e.g. text="A wonderful film."')
    output = Path(cfg.output).expanduser()
    refuse_to_overwrite(output, hint="choose another output=")
    ckpt = read_checkpoint(cfg.ckpt_path)
    model = ckpt.model(cfg.trusted_targets, TextClassifier)
    data = IMDBDataModule.from_checkpoint(ckpt, cfg.trusted_targets)
    check_vocabulary_fits(data.vocab_size_actual, model.embedding.num_embeddings, ckpt.source)
    (review,) = explain_ids(model, data.encode([cfg.text]), data.decode_tokens)

    print(
        f"p(positive) = {review.p_positive:.3f} -> {'positive' if review.p_positive >= 0.5 else 'negative'}"
    )
    if review.weights is None:
        print(
            f"{type(model.encoder).__name__} has no attention weights; train model=attention or transformer"
        )
        return review
    for word, weight in zip(review.words, review.weights, strict=True):
        print(f"{weight:8.4f}  {word}")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig = attention_figure([review], max_tokens=cfg.max_tokens)
    fig.savefig(output, dpi=100)
    plt.close(fig)
    print(f"flik-lab: heatmap written to {output}")
    return review


def run(cfg: DictConfig) -> None:
    explain(cfg)


def main() -> None:
    run_command("explain", run)


if __name__ == "__main__":
    main()
