"""Exercise 13 text pipeline throughput: tokenization, length bucketing, flik-lab against a plain loop.

One run measures three things on generated reviews with IMDB's length distribution:
1. `build_tokenizer` and `encode_flat` in reviews/s (generation excluded);
2. padding efficiency and plain-loop training speed with and without `BucketBatchSampler` bucketing;
3. per encoder, flik-lab's `TextClassifier` under a Lightning `Trainer` against a plain PyTorch loop with the
   same model, the same precomputed batches, BCE-with-logits and AdamW; the figure that matters is the
   ratio, because the machine is shared.
Batches are built directly (generate_reviews -> tokenizer -> sampler -> pad_collate), not through the
DataModule, so neither `datasets` nor `wandb` is needed.
`python bench/text_throughput.py [--device cuda] [--reviews 50000] [--steps 25] [--repeats 2]`
"""

import argparse
import importlib.util
import logging
import sys
import time
import types
import warnings
from functools import partial

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from timing import Timer, device_name, sync, timed_trainer

from flik_lab.data.length_buckets import BucketBatchSampler, padding_efficiency
from flik_lab.data.reviews.batching import pad_collate
from flik_lab.data.reviews.tokenizer import build_tokenizer, encode_flat
from flik_lab.models.text import AttentionEncoder, BiLSTMEncoder, LSTMEncoder, RNNEncoder, TransformerEncoder
from flik_lab.models.text_classifier import TextClassifier

if importlib.util.find_spec("pyarrow") is None:  # pragma: no cover - machines without `datasets`
    # the synthetic-review module imports pyarrow for its parquet writer only; generate_reviews needs none
    sys.modules["pyarrow"] = types.ModuleType("pyarrow")
    sys.modules["pyarrow.parquet"] = types.ModuleType("pyarrow.parquet")
from flik_lab.data.reviews.synthetic import generate_reviews  # noqa: E402

ENCODERS = ("rnn", "lstm", "bilstm", "attention", "transformer")
# the experiment configs' optimiser settings (conf/model/_text_classifier.yaml, transformer.yaml)
HPARAMS = {"transformer": dict(dropout=0.1, lr=5e-4, weight_decay=0.01)}  # as conf/model/transformer.yaml
DEFAULT_HPARAMS = dict(dropout=0.3, lr=1e-3, weight_decay=0.0)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_model(encoder: str, vocab_size: int, args, seed: int = 0) -> TextClassifier:
    """The same initial weights for a given seed, whichever loop trains it."""
    torch.manual_seed(seed)
    e, h = args.embed_dim, args.hidden_size
    encoders = {
        "rnn": lambda: RNNEncoder(e, h, implementation="cudnn"),
        "lstm": lambda: LSTMEncoder(e, h),
        "bilstm": lambda: BiLSTMEncoder(e, h, merge="add"),
        "attention": lambda: AttentionEncoder(e, h),
        "transformer": lambda: TransformerEncoder(
            e, num_heads=args.heads, num_layers=args.layers, pooling="cls"
        ),
    }
    hparams = dict(HPARAMS.get(encoder, DEFAULT_HPARAMS))
    optimizer = partial(torch.optim.AdamW, weight_decay=hparams.pop("weight_decay"))
    return TextClassifier(
        encoders[encoder](), vocab_size, embed_dim=e, pad_id=0, optimizer=optimizer, **hparams
    )


def pick_batches(
    sampler: BucketBatchSampler, lengths: np.ndarray, warmup: int, count: int
) -> list[list[int]]:
    """The epoch's first `warmup` full batches, then `count` more spread evenly over the epoch's padded
    lengths (quantiles of the batch maxima), so the timed batches pad like the whole epoch; order shuffled."""
    full = [batch for batch in sampler if len(batch) == sampler.batch_size]
    rest = sorted(full[warmup:], key=lambda batch: int(lengths[batch].max()))
    picks = [rest[int((i + 0.5) * len(rest) / count)] for i in range(count)]
    order = np.random.default_rng(1).permutation(count)
    return full[:warmup] + [picks[i] for i in order]


def collate(index_batches: list[list[int]], ids: np.ndarray, offsets: np.ndarray, labels: np.ndarray) -> list:
    return [
        pad_collate([(ids[offsets[i] : offsets[i + 1]], int(labels[i])) for i in b]) for b in index_batches
    ]


def plain_loop(encoder: str, vocab_size: int, batches: list[dict], args) -> float:
    """Sequences/s of a hand-written loop over the batches after the warm-up ones."""
    model = make_model(encoder, vocab_size, args).to(args.device).train()
    opt = model.configure_optimizers()  # the same AdamW settings
    start, seen = None, 0
    for i, batch in enumerate(batches):
        if i == args.warmup:
            sync(args.device)
            start = time.perf_counter()
        batch = {key: value.to(args.device, non_blocking=True) for key, value in batch.items()}
        logits, _ = model(batch["tokens"], batch["lengths"])
        loss = F.binary_cross_entropy_with_logits(logits, batch["labels"].float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(batch["labels"]) if i >= args.warmup else 0
    sync(args.device)
    return seen / (time.perf_counter() - start)


class Batches:
    """A list of ready batches as one iterable (Lightning reads a bare list as several dataloaders)."""

    def __init__(self, batches: list[dict]):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def lightning_loop(encoder: str, vocab_size: int, batches: list[dict], args) -> float:
    """Sequences/s of flik-lab's TextClassifier under a Trainer (no validation, logging or checkpoints)."""
    model = make_model(encoder, vocab_size, args)
    timer = Timer(args.warmup, args.device)
    trainer = timed_trainer(args.device, len(batches), timer, max_epochs=1)
    trainer.fit(model, train_dataloaders=Batches(batches))
    seen = sum(len(batch["labels"]) for batch in batches[args.warmup :])
    return seen / timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--reviews", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=25, help="timed batches per encoder and loop (part 3)")
    parser.add_argument("--bucket-steps", type=int, default=15, help="timed batches per setting (part 2)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=400)
    parser.add_argument("--vocab-size", type=int, default=20_000)
    parser.add_argument("--embed-dim", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--encoders", default=",".join(ENCODERS))
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda but no CUDA device is available")
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*(smaller than the logging|no `val_dataloader`|LeafSpec).*")
    encoders = args.encoders.split(",")
    total = time.perf_counter()

    # 1. tokenization
    progress(f"generating {args.reviews} reviews")
    reviews = generate_reviews(args.reviews, seed=0)
    texts = [text for text, _ in reviews]
    labels = np.array([label for _, label in reviews], dtype=np.int64)
    words = np.array([len(text.split()) for text in texts])
    progress("tokenizing")
    start = time.perf_counter()
    tokenizer = build_tokenizer(texts, args.vocab_size, min_frequency=2, max_length=args.max_length)
    t_build = time.perf_counter() - start
    start = time.perf_counter()
    ids, offsets = encode_flat(tokenizer, texts)
    t_encode = time.perf_counter() - start
    lengths = np.diff(offsets)
    vocab_size = tokenizer.get_vocab_size()

    # 2. padding efficiency and plain-loop speed with and without bucketing
    samplers = {
        b: BucketBatchSampler(lengths, args.batch_size, shuffle=True, bucketing=b, seed=0)
        for b in (False, True)
    }
    epoch_eff = {b: padding_efficiency(lengths, iter(s)) for b, s in samplers.items()}
    picked = {b: pick_batches(s, lengths, args.warmup, args.bucket_steps) for b, s in samplers.items()}
    timed_eff = {b: padding_efficiency(lengths, iter(p[args.warmup :])) for b, p in picked.items()}
    padded_len = {b: float(np.mean([lengths[x].max() for x in p[args.warmup :]])) for b, p in picked.items()}
    bucket_batches = {b: collate(p, ids, offsets, labels) for b, p in picked.items()}
    bucket_speed = {(e, b): [] for e in ("bilstm", "transformer") for b in (False, True)}
    for r in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
        for (encoder, bucketing), runs in bucket_speed.items():
            progress(f"part 2, repeat {r + 1}: {encoder}, bucketing={bucketing}")
            runs.append(plain_loop(encoder, vocab_size, bucket_batches[bucketing], args))

    # 3. flik-lab against the plain loop, one shared list of bucketed batches
    sampler = samplers[True]
    batches = collate(pick_batches(sampler, lengths, args.warmup, args.steps), ids, offsets, labels)
    timed = batches[args.warmup :]
    real = sum(int(b["lengths"].sum()) for b in timed)
    padded = sum(b["tokens"].numel() for b in timed)
    speed = {(e, loop): [] for e in encoders for loop in ("plain", "flik")}
    for r in range(args.repeats):
        for encoder in encoders:
            progress(f"part 3, repeat {r + 1}: {encoder}")
            speed[encoder, "plain"].append(plain_loop(encoder, vocab_size, batches, args))
            speed[encoder, "flik"].append(lightning_loop(encoder, vocab_size, batches, args))

    print(
        f"device: {device_name(args.device)}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), lightning {L.__version__}, best of {args.repeats}, "
        f"total run {time.perf_counter() - total:.0f} s"
    )
    truncated = np.mean(lengths == args.max_length)
    print(
        f"\n1. tokenization: {args.reviews} generated reviews, words median {np.median(words):.0f}, "
        f"p99 {np.percentile(words, 99):.0f}, max {words.max()}; vocab {vocab_size} "
        f"(asked {args.vocab_size}, min_frequency 2); tokens/review after truncation to "
        f"{args.max_length}: median {np.median(lengths):.0f}, mean {lengths.mean():.0f}, "
        f"{truncated:.1%} truncated"
    )
    print("| step | seconds | reviews/s |\n|---|---|---|")
    print(f"| build_tokenizer (vocab training) | {t_build:.2f} | {args.reviews / t_build:,.0f} |")
    print(f"| encode_flat | {t_encode:.2f} | {args.reviews / t_encode:,.0f} |")

    print(
        f"\n2. bucketing: batch {args.batch_size}, tokens truncated to {args.max_length}; plain loop "
        f"(forward + backward + AdamW), {args.bucket_steps} timed batches after {args.warmup} "
        f"warm-up ones, embed {args.embed_dim}, hidden {args.hidden_size}"
    )
    print(
        "| bucketing | padding efficiency (epoch) | (timed batches) | mean padded length "
        "| bilstm seq/s | transformer seq/s |\n|---|---|---|---|---|---|"
    )
    for b in (False, True):
        cells = " | ".join(f"{max(bucket_speed[e, b]):.1f}" for e in ("bilstm", "transformer"))
        row = f"{epoch_eff[b]:.3f} | {timed_eff[b]:.3f} | {padded_len[b]:.0f} | {cells}"
        print(f"| {'on' if b else 'off'} | {row} |")
    ups = [max(bucket_speed[e, True]) / max(bucket_speed[e, False]) for e in ("bilstm", "transformer")]
    gains = [epoch_eff[True] / epoch_eff[False], timed_eff[True] / timed_eff[False]]
    print(
        f"| on / off | {gains[0]:.2f}x | {gains[1]:.2f}x | {padded_len[True] / padded_len[False]:.2f}x "
        f"| {ups[0]:.2f}x | {ups[1]:.2f}x |"
    )

    print(
        f"\n3. flik-lab TextClassifier under a Lightning Trainer vs a plain loop: the same model and "
        f"init, the same {len(timed)} bucketed batches of {args.batch_size} after {args.warmup} warm-up "
        f"ones (padding efficiency {real / padded:.3f}, mean padded length "
        f"{padded / len(timed) / args.batch_size:.0f}), embed {args.embed_dim}, hidden "
        f"{args.hidden_size}, transformer {args.layers} layers {args.heads} heads"
    )
    print("| encoder | plain PyTorch seq/s | flik-lab seq/s | ratio flik-lab / plain |\n|---|---|---|---|")
    ratios = {}
    for encoder in encoders:
        p, f = max(speed[encoder, "plain"]), max(speed[encoder, "flik"])
        ratios[encoder] = f / p
        print(f"| {encoder} | {p:.1f} | {f:.1f} | **{f / p:.3f}** |")
    print("ratio flik-lab / plain: " + ", ".join(f"{e} {r:.3f}" for e, r in ratios.items()))


if __name__ == "__main__":
    main()
