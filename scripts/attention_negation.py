"""Render docs/attention_negation.png: where the attention encoder looks in two reviews of the same words.

Trains `experiment=imdb_attention` (the learnability settings of tests/test_text_training.py, 4 epochs,
about a minute on a laptop CPU) on generated word-order reviews, then explains "... is not awful, it is
good ..." and "... is not good, it is awful ...": opposite predictions, the weight on that sentence.
    python scripts/attention_negation.py [--out docs/attention_negation.png]
"""

import argparse
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from hydra import compose, initialize_config_module

from flik_lab.commands.explain import explain
from flik_lab.data.reviews.synthetic import write_parquet
from flik_lab.data.reviews.word_order import generate_word_order_reviews
from flik_lab.plots.attention import attention_figure
from flik_lab.training import train
from flik_lab.utils.conf import CONF_MODULE
from flik_lab.utils.train_schema import register_schemas

OUT = Path(__file__).resolve().parents[1] / "docs" / "attention_negation.png"
LENGTHS = dict(median_words=60, sigma=0.6, max_words=400)
TRAINING = [
    "experiment=imdb_attention",
    "data.source=parquet",
    "data.val_size=200",
    "data.vocab_size=2000",
    "data.batch_size=32",
    "model.embed_dim=32",
    "model.encoder.hidden_size=32",
    "model.lr=3e-3",
    "model.dropout=0.1",
    "trainer.max_epochs=4",
    "seed=0",
]
FILLER = ("The story follows Mary, who lives in Paris.", "Later the captain finds the key in Paris.")
PHRASES = {
    "The acting is not awful, it is good.": 1,
    "The acting is not good, it is awful.": 0,
    "The acting is good, not awful.": 1,
    "The acting is awful, not good.": 0,
}


def config(name: str, overrides: list[str]):
    with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
        return compose(config_name=name, overrides=overrides)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    register_schemas()
    os.environ.setdefault("WANDB_MODE", "offline")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, run = Path(tmp) / "data", Path(tmp) / "run"
        reviews = (
            generate_word_order_reviews(1800, 0, **LENGTHS),
            generate_word_order_reviews(400, 1, **LENGTHS),
        )
        write_parquet(data_dir, *reviews)
        metrics = train(config("train", [*TRAINING, f"data.data_dir={data_dir}", f"paths.output_dir={run}"]))
        print(f"test/acc {float(metrics['test/acc']):.3f}")
        explained = []
        for i, (phrase, label) in enumerate(PHRASES.items()):
            text = f"{FILLER[0]} {phrase} {FILLER[1]}"
            overrides = [f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", f"text='{text}'"]
            review = explain(
                config("explain", [*overrides, f"paths.output_dir={Path(tmp) / f'explain_{i}'}"])
            )
            review.label = label
            explained.append(review)
    fig = attention_figure(explained, words_per_row=25)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=80)
    plt.close(fig)
    print(f"written {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
