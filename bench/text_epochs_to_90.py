"""Epochs to 90 % validation accuracy per text encoder on generated reviews, against a bag of words.

Each encoder trains as `flik-lab train experiment=imdb_<encoder>` (through `flik_lab.training.train`) with
the learnability settings of tests/test_text_training.py; val/acc per epoch comes from the run's
metrics.csv. The bag-of-words baseline (logistic regression on word counts) is fitted on the same data.
`python bench/text_epochs_to_90.py [--corpus word_order|phrases] [--encoders lstm attention]
[--epochs 10] [--seeds 0 1 2] [--set lstm:model.lr=1e-2 ...] [--set all:data.batch_size=16]`
"""

import argparse
import csv
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from timing import device_name

from flik_lab.data.reviews.synthetic import generate_reviews, write_parquet
from flik_lab.data.reviews.word_order import generate_word_order_reviews
from flik_lab.metrics.bag_of_words import bag_of_words_accuracy
from flik_lab.training import train
from flik_lab.utils.conf import CONF_MODULE
from flik_lab.utils.train_schema import register_schemas

ENCODERS = ("rnn", "lstm", "bilstm", "attention", "transformer")
LENGTHS = dict(median_words=60, sigma=0.6, max_words=400)  # as the learnability test's corpus
# as tests/test_text_training.py: small data settings shared by every encoder, then each encoder's own
SHARED = [
    "data.source=parquet",
    "data.val_size=200",
    "data.vocab_size=2000",
    "data.batch_size=32",
    "model.embed_dim=32",
    "model.lr=3e-3",
    "model.dropout=0.1",
]
OWN = {
    "rnn": ["model.encoder.hidden_size=64"],
    "lstm": ["model.encoder.hidden_size=32"],
    "bilstm": ["model.encoder.hidden_size=32"],
    "attention": ["model.encoder.hidden_size=32"],
    "transformer": ["model.encoder.num_layers=2", "model.encoder.num_heads=4", "model.lr=1e-3"],
}
QUIET = [
    "+trainer.enable_progress_bar=false",
    "callbacks.progress_bar=null",
    "callbacks.model_summary=null",
    "callbacks.attention_heatmaps=null",
    "callbacks.model_checkpoint=null",
]


def val_accuracies(run: Path) -> list[float]:
    """val/acc of each epoch, from the run's csv/metrics.csv."""
    with open(run / "csv" / "metrics.csv") as f:
        return [float(row["val/acc"]) for row in csv.DictReader(f) if row.get("val/acc")]


def one_run(encoder: str, data_dir: Path, run: Path, epochs: int, seed: int, extra: list[str]) -> dict:
    """Train `experiment=imdb_<encoder>` for `epochs`; val/acc per epoch, test/acc, seconds."""
    overrides = [
        f"experiment=imdb_{encoder}",
        f"data.data_dir={data_dir}",
        *SHARED,
        *OWN[encoder],
        *QUIET,
        f"trainer.max_epochs={epochs}",
        f"seed={seed}",
        *extra,
        f"paths.output_dir={run}",
    ]
    with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
        cfg = compose(config_name="train", overrides=overrides)
    start = time.perf_counter()
    metrics = train(cfg)
    seconds = time.perf_counter() - start
    return {"val": val_accuracies(run), "test": float(metrics["test/acc"]), "seconds": seconds}


def epochs_to(accuracies: list[float], target: float) -> int | None:
    return next((epoch + 1 for epoch, acc in enumerate(accuracies) if acc >= target), None)


def parse_sets(sets: list[str]) -> dict[str, list[str]]:
    """`encoder:key=value` (or `all:key=value`) -> extra overrides per encoder."""
    extra = {encoder: [] for encoder in ENCODERS}
    for item in sets:
        who, override = item.split(":", 1)
        for encoder in ENCODERS if who == "all" else [who]:
            extra[encoder].append(override)
    return extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=("word_order", "phrases"), default="word_order")
    parser.add_argument("--encoders", nargs="+", choices=ENCODERS, default=list(ENCODERS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--train", type=int, default=1800, help="train reviews (200 of them held out as val)")
    parser.add_argument("--test", type=int, default=400)
    parser.add_argument("--median-words", type=float, default=LENGTHS["median_words"])
    parser.add_argument("--target", type=float, default=0.90)
    parser.add_argument("--set", action="append", default=[], help="encoder:key=value or all:key=value")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    warnings.filterwarnings("ignore")
    logging.getLogger("lightning").setLevel(logging.ERROR)
    extra = parse_sets(args.set)
    register_schemas()
    os.environ.setdefault("WANDB_MODE", "offline")

    generate = generate_word_order_reviews if args.corpus == "word_order" else generate_reviews
    lengths = {**LENGTHS, "median_words": args.median_words}
    train_reviews, test_reviews = generate(args.train, 0, **lengths), generate(args.test, 1, **lengths)
    print(
        f"# {args.corpus} corpus: {args.train} train / {args.test} test reviews of median "
        f"{args.median_words:g} words; {device_name('cpu')}"
    )
    linear = bag_of_words_accuracy(train_reviews, test_reviews)
    mlp = bag_of_words_accuracy(train_reviews, test_reviews, hidden=64)
    print(f"# bag of words, test acc: logistic regression on counts {linear:.3f}, MLP (64 ReLU) {mlp:.3f}")
    print("| encoder | seed | extra settings | epochs to 90 % val | val acc by epoch | test acc | s |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        write_parquet(data_dir, train_reviews, test_reviews)
        for encoder in args.encoders:
            for seed in args.seeds:
                run = Path(tmp) / f"{encoder}_{seed}"
                result = one_run(encoder, data_dir, run, args.epochs, seed, extra[encoder])
                reached = epochs_to(result["val"], args.target)
                by_epoch = " ".join(f"{acc:.2f}" for acc in result["val"])
                settings = " ".join(extra[encoder]) or "-"
                print(
                    f"| {encoder} | {seed} | {settings} | {reached or '>' + str(args.epochs)}"
                    f" | {by_epoch} | {result['test']:.3f} | {result['seconds']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
