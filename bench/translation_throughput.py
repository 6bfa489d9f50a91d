"""Translation throughput: training target tokens/s against a plain loop, and decoding sentences/s.

On the offline numbers corpus (German number words -> English, `number_splits`, split by number):
1. per network (`RNNSeq2Seq`, `TransformerSeq2Seq` at the conf/model defaults), flik-lab's `Translator`
   under a Lightning `Trainer` against a plain PyTorch loop with the same initial weights, the same bucketed
   batches, the same loss (teacher-forced cross-entropy, label smoothing, padding ignored), the same AdamW and
   gradient-norm clipping at 1.0 (the translate_* experiments' `trainer.gradient_clip_val`); target tokens/s
   (real tokens of `target[:, 1:]`, EOS included), repeats interleaved, median; the figure is the ratio;
2. per network, `greedy_decode` and `beam_search` (called directly: `Translator.translate_ids` only adds the
   per-batch length cap and the vocabulary limit, reproduced here) in sentences/s over the test split in
   batches of 256, sorted by length as the DataModule's test loader; the network is briefly trained first
   (`--decode-train-steps` plain-loop steps; 0: untrained) and its exact match is printed with the speed.
Batches are built directly (number_splits -> build_tokenizer -> encode -> BucketBatchSampler -> pair_collate),
not through the DataModule, so neither `datasets` nor `wandb` is imported.
`python bench/translation_throughput.py [--device cuda] [--steps 25] [--repeats 3] [--threads N]`
"""

import argparse
import logging
import statistics
import sys
import time
import warnings
from functools import partial

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from timing import Timer, device_name, sync, timed_trainer

from flik_lab.data.length_buckets import BucketBatchSampler
from flik_lab.data.sentence_pairs.batching import PairSplit, pair_collate
from flik_lab.data.sentence_pairs.numbers import number_splits
from flik_lab.data.sentence_pairs.tokenizer import BOS_ID, EOS_ID, PAD_ID, build_tokenizer, decode, encode
from flik_lab.models.seq2seq.decoding import beam_search, greedy_decode
from flik_lab.models.seq2seq.rnn import RNNSeq2Seq
from flik_lab.models.seq2seq.transformer import TransformerSeq2Seq
from flik_lab.models.translator import LimitedVocabulary, Translator

NETWORKS = ("rnn", "transformer")
# conf/model/_translator.yaml (lr 1e-3, AdamW weight_decay 0) and seq2seq_transformer.yaml (5e-4, 0.01)
OPTIMIZER = {"rnn": dict(lr=1e-3, weight_decay=0.0), "transformer": dict(lr=5e-4, weight_decay=0.01)}
LABEL_SMOOTHING, CLIP = 0.1, 1.0  # _translator.yaml; experiment/_translate.yaml's gradient_clip_val
MAX_DECODE, DECODE_RATIO = 128, 2.0  # _translator.yaml's max_length and max_length_ratio


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_network(name: str, vocab: tuple[int, int], args, seed: int = 0) -> torch.nn.Module:
    """The same initial weights for a given seed, whichever loop trains it."""
    torch.manual_seed(seed)
    if name == "rnn":
        return RNNSeq2Seq(
            *vocab,
            embed_dim=args.rnn_embed,
            hidden_size=args.rnn_hidden,
            num_layers=args.rnn_layers,
            dropout=args.dropout,
            cell=args.rnn_cell,
            attention=args.rnn_attention,
        )
    return TransformerSeq2Seq(
        *vocab,
        d_model=args.d_model,
        num_heads=args.heads,
        num_encoder_layers=args.encoder_layers,
        num_decoder_layers=args.decoder_layers,
        ff_dim=args.ff_dim,
        dropout=args.dropout,
    )


def size_label(name: str, args) -> str:
    if name == "rnn":
        a = args
        return f"{a.rnn_cell} x{a.rnn_layers}, embed {a.rnn_embed}, hidden {a.rnn_hidden}, {a.rnn_attention}"
    layers = f"{args.encoder_layers}+{args.decoder_layers}"
    return f"d_model {args.d_model}, {args.heads} heads, {layers} layers, ff {args.ff_dim}"


def make_translator(name: str, vocab: tuple[int, int], args) -> Translator:
    hp = OPTIMIZER[name]
    optimizer = partial(torch.optim.AdamW, weight_decay=hp["weight_decay"])
    return Translator(
        make_network(name, vocab, args), lr=hp["lr"], optimizer=optimizer, label_smoothing=LABEL_SMOOTHING
    )


def build_splits(args) -> tuple[dict[str, PairSplit], tuple]:
    """The numbers corpus as the DataModule builds it: BPE per language trained on train; ids, no BOS/EOS."""
    splits = number_splits(args.min_number, args.max_number, args.val_size, args.test_size, seed=0)
    train = splits["train"]
    source_tok = build_tokenizer([s for s, _ in train], "bpe", args.vocab_size, min_frequency=2)
    target_tok = build_tokenizer([t for _, t in train], "bpe", args.vocab_size, min_frequency=2)
    out = {}
    for name in ("train", "test"):
        pairs = splits[name]
        source = encode(source_tok, [s for s, _ in pairs], args.max_length)
        target = encode(target_tok, [t for _, t in pairs], args.max_length)
        out[name] = PairSplit.from_rows(source, target, pairs)
    return out, (source_tok, target_tok)


def pick_batches(
    sampler: BucketBatchSampler, lengths: np.ndarray, warmup: int, count: int
) -> list[list[int]]:
    """The epoch's first `warmup` full batches, then `count` more spread evenly over the epoch's padded
    lengths (quantiles of the batch maxima), so the timed batches pad like the whole epoch; order shuffled."""
    full = [batch for batch in sampler if len(batch) == sampler.batch_size]
    rest = sorted(full[warmup:], key=lambda batch: int(lengths[batch].max()))
    if count > len(rest):
        raise SystemExit(f"--steps {count}: the epoch has only {len(rest)} full batches after the warm-up")
    picks = [rest[int((i + 0.5) * len(rest) / count)] for i in range(count)]
    order = np.random.default_rng(1).permutation(count)
    return full[:warmup] + [picks[i] for i in order]


def to_device(batch: dict, device: str) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def target_tokens(batch: dict) -> int:
    """The predicted positions that count in the loss: `target[:, 1:]` minus padding (EOS included)."""
    return int((batch["target"][:, 1:] != PAD_ID).sum())


def train_plain(network: torch.nn.Module, name: str, batches: list[dict], args, warmup: int) -> float:
    """A hand-written loop over `batches`; target tokens/s over those after the first `warmup`."""
    network.to(args.device).train()
    hp = OPTIMIZER[name]
    opt = torch.optim.AdamW(network.parameters(), lr=hp["lr"], weight_decay=hp["weight_decay"])
    start, seen = None, 0
    for i, batch in enumerate(batches):
        if i == warmup:
            sync(args.device)
            start = time.perf_counter()
        seen += target_tokens(batch) if i >= warmup else 0  # counted on the host: no sync per step
        batch = to_device(batch, args.device)
        target = batch["target"]
        logits, _ = network(batch["source"], batch["source_lengths"], target[:, :-1])
        loss = F.cross_entropy(
            logits.float().transpose(1, 2),
            target[:, 1:],
            ignore_index=PAD_ID,
            label_smoothing=LABEL_SMOOTHING,
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), CLIP)
        opt.step()
    sync(args.device)
    return seen / (time.perf_counter() - start) if start is not None else float("nan")


class Batches:
    """A list of ready batches as one iterable (Lightning reads a bare list as several dataloaders)."""

    def __init__(self, batches: list[dict]):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def train_lightning(name: str, vocab: tuple[int, int], batches: list[dict], args) -> float:
    """Target tokens/s of flik-lab's Translator under a Trainer (no validation, logging or checkpoints)."""
    model = make_translator(name, vocab, args)
    timer = Timer(args.warmup, args.device)
    trainer = timed_trainer(args.device, len(batches), timer, max_epochs=1)
    trainer.gradient_clip_val = CLIP  # timed_trainer has no argument for it; read at every step
    trainer.fit(model, train_dataloaders=Batches(batches))
    return sum(target_tokens(b) for b in batches[args.warmup :]) / timer.seconds


def decode_pass(network, batches: list[dict], args, beam: int) -> tuple[float, list]:
    """Seconds for one pass of `greedy_decode` (beam 1) or `beam_search` over `batches`, and the best
    hypotheses; each batch capped at min(128, 2 x its longest source + 10) tokens, as translate_ids does."""
    sync(args.device)
    start, found = time.perf_counter(), []
    for batch in batches:
        source, lengths = batch["source"].to(args.device), batch["source_lengths"].to(args.device)
        cap = min(MAX_DECODE, int(DECODE_RATIO * int(batch["source_lengths"].max())) + 10)
        if beam == 1:
            found += greedy_decode(network, source, lengths, cap, BOS_ID, EOS_ID)
        else:
            found += [
                n[0]
                for n in beam_search(
                    network, source, lengths, beam, cap, BOS_ID, EOS_ID, length_penalty=args.length_penalty
                )
            ]
    sync(args.device)
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--steps", type=int, default=25, help="timed training batches per network and loop")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--networks", default=",".join(NETWORKS))
    data = parser.add_argument_group("data (conf/data/translation.yaml)")
    data.add_argument("--min-number", type=int, default=1)
    data.add_argument("--max-number", type=int, default=9999)
    data.add_argument("--val-size", type=int, default=500)
    data.add_argument("--test-size", type=int, default=1000)
    data.add_argument("--vocab-size", type=int, default=100)
    data.add_argument("--max-length", type=int, default=64)
    data.add_argument("--batch-size", type=int, default=64)
    data.add_argument("--eval-batch-size", type=int, default=256)
    sizes = parser.add_argument_group("networks (conf/model/seq2seq_{rnn,transformer}.yaml)")
    sizes.add_argument("--dropout", type=float, default=0.1)
    sizes.add_argument("--rnn-embed", type=int, default=128)
    sizes.add_argument("--rnn-hidden", type=int, default=256)
    sizes.add_argument("--rnn-layers", type=int, default=1)
    sizes.add_argument("--rnn-cell", default="lstm", choices=("lstm", "gru"))
    sizes.add_argument("--rnn-attention", default="additive", choices=("additive", "dot", "general"))
    sizes.add_argument("--d-model", type=int, default=256)
    sizes.add_argument("--heads", type=int, default=4)
    sizes.add_argument("--encoder-layers", type=int, default=3)
    sizes.add_argument("--decoder-layers", type=int, default=3)
    sizes.add_argument("--ff-dim", type=int, default=1024)
    dec = parser.add_argument_group("decoding")
    dec.add_argument("--beam", type=int, default=4)
    dec.add_argument("--length-penalty", type=float, default=1.0)
    dec.add_argument("--decode-sentences", type=int, default=0, help="test sentences decoded (0: all)")
    help = "plain-loop training steps before decoding (0: decode an untrained network)"
    dec.add_argument("--decode-train-steps", type=int, default=300, help=help)
    dec.add_argument("--decode-repeats", type=int, default=0, help="timed passes each (0: --repeats)")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda but no CUDA device is available")
    if args.beam < 2:
        parser.error(f"--beam {args.beam}: beam 1 is greedy decoding, timed anyway; give 2 or more")
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*(smaller than the logging|no `val_dataloader`|LeafSpec).*")
    networks = args.networks.split(",")
    decode_repeats = args.decode_repeats or args.repeats
    total = time.perf_counter()

    progress(f"numbers {args.min_number}..{args.max_number} de->en, BPE vocab {args.vocab_size}")
    splits, (source_tok, target_tok) = build_splits(args)
    train, test = splits["train"], splits["test"]
    vocab = (args.vocab_size, args.vocab_size)  # the configs size both embeddings by data.vocab_size
    target_vocab = target_tok.get_vocab_size()
    sampler = BucketBatchSampler(train.lengths, args.batch_size, shuffle=True, bucketing=True, seed=0)
    batches = [
        pair_collate([train[i] for i in b])
        for b in pick_batches(sampler, train.lengths, args.warmup, args.steps)
    ]
    timed = batches[args.warmup :]
    real = sum(target_tokens(b) for b in timed)
    padded = sum(b["target"][:, 1:].numel() for b in timed)

    # 1. training: flik-lab's Translator under Lightning against the plain loop, interleaved
    speed = {(n, loop): [] for n in networks for loop in ("plain", "flik")}
    params = {}
    for r in range(args.repeats):
        for name in networks:
            progress(f"training, repeat {r + 1}/{args.repeats}: {name}")
            network = make_network(name, vocab, args)
            params[name] = sum(p.numel() for p in network.parameters())
            speed[name, "plain"].append(train_plain(network, name, batches, args, args.warmup))
            speed[name, "flik"].append(train_lightning(name, vocab, batches, args))

    # 2. decoding: greedy and beam over the test split, sorted by length as the test loader does
    # (--decode-sentences N: the split's first N pairs, a random draw of numbers, then sorted the same way)
    lengths = test.lengths[: args.decode_sentences or len(test)]
    test_order = BucketBatchSampler(lengths, args.eval_batch_size, shuffle=False, seed=0)
    test_batches = [pair_collate([test[i] for i in b]) for b in test_order]
    sentences = sum(len(b["source"]) for b in test_batches)
    train_all = [pair_collate([train[i] for i in b]) for b in sampler]
    decoding = {}
    for name in networks:
        network = make_network(name, vocab, args)
        if args.decode_train_steps:
            progress(f"decoding: training {name} for {args.decode_train_steps} steps")
            steps = [train_all[i % len(train_all)] for i in range(args.decode_train_steps)]
            train_plain(network, name, steps, args, warmup=0)
        network.to(args.device).eval()
        decoder = LimitedVocabulary(network, target_vocab) if target_vocab < vocab[1] else network
        decode_pass(decoder, test_batches[:1], args, 1)  # warm-up
        runs = {1: [], args.beam: []}
        found = {}
        for r in range(decode_repeats):
            for beam in runs:
                progress(f"decoding, repeat {r + 1}/{decode_repeats}: {name}, beam {beam}")
                seconds, found[beam] = decode_pass(decoder, test_batches, args, beam)
                runs[beam].append(sentences / seconds)
        references = [text for b in test_batches for text in b["target_text"]]
        exact = {
            beam: np.mean(
                [
                    p.strip() == t.strip()
                    for p, t in zip(decode(target_tok, [h.tokens for h in hyps]), references, strict=True)
                ]
            )
            for beam, hyps in found.items()
        }
        length = {beam: np.mean([len(h.tokens) + 1 for h in hyps]) for beam, hyps in found.items()}
        spread = "; ".join(f"beam {b}: " + ", ".join(f"{x:,.1f}" for x in v) for b, v in runs.items())
        progress(f"{name} decoding sent/s per repeat: {spread}")
        decoding[name] = {
            "speed": {b: statistics.median(v) for b, v in runs.items()},
            "exact": exact,
            "length": length,
        }

    # the report
    name_of_device = device_name(args.device)
    short = name_of_device.split(" (")[0]
    print(
        f"\ndevice: {name_of_device}, torch {torch.__version__} ({torch.get_num_threads()} CPU threads), "
        f"lightning {L.__version__}; total run {time.perf_counter() - total:.0f} s"
    )
    print(f"command: python bench/translation_throughput.py {' '.join(sys.argv[1:])}")
    print(
        f"corpus: numbers {args.min_number}..{args.max_number} de->en, {len(train)} train / {len(test)} "
        f"test pairs, BPE vocab {source_tok.get_vocab_size()} / {target_vocab} (asked {args.vocab_size}; "
        f"the networks' embeddings and output layer are sized {args.vocab_size})"
    )
    for name in networks:
        hp = OPTIMIZER[name]
        print(
            f"{name}: {size_label(name, args)}, {params[name]:,} parameters, dropout {args.dropout}, "
            f"AdamW lr {hp['lr']} weight decay {hp['weight_decay']}"
        )

    print(
        f"\n**Training**, target tokens/s (median of {args.repeats} interleaved repeats): the same init, "
        f"the same {len(timed)} bucketed batches of {args.batch_size} after {args.warmup} warm-up ones "
        f"(target padding efficiency {real / padded:.3f}, {real / len(timed) / args.batch_size:.1f} "
        f"target tokens a pair), teacher-forced cross-entropy with label smoothing {LABEL_SMOOTHING}, "
        f"AdamW, gradient norm clipped at {CLIP}; flik-lab: `Translator` under a `Trainer`.\n"
    )
    print("| device | network | plain PyTorch tok/s | flik-lab tok/s | ratio flik-lab / plain |")
    print("|---|---|---|---|---|")
    for name in networks:
        p, f = statistics.median(speed[name, "plain"]), statistics.median(speed[name, "flik"])
        print(f"| {short} | {name} | {p:,.0f} | {f:,.0f} | **{f / p:.3f}** |")
    for name in networks:  # the spread says how much the machine's load moved the medians
        runs = [f"{p:,.0f}/{f:,.0f}" for p, f in zip(speed[name, "plain"], speed[name, "flik"], strict=True)]
        print(f"{name} repeats (plain/flik-lab tok/s): {', '.join(runs)}")

    steps = args.decode_train_steps
    trained = f"briefly trained ({steps} plain-loop steps)" if steps else "untrained"
    test_target = sum(target_tokens(b) for b in test_batches) / sentences
    print(
        f"\n**Decoding**, sentences/s (median of {decode_repeats}): `greedy_decode` and `beam_search` "
        f"called directly, with `Translator.translate_ids`' cap of min({MAX_DECODE}, {DECODE_RATIO:g} x "
        f"longest source + 10) tokens per batch; {sentences} test sentences in length-sorted batches of "
        f"{args.eval_batch_size}, beam {args.beam}, length penalty {args.length_penalty}; networks "
        f"{trained}; references have {test_target:.1f} tokens with EOS.\n"
    )
    print(
        f"| device | network | greedy sent/s | beam {args.beam} sent/s | beam / greedy "
        "| tokens out greedy / beam | exact match greedy / beam |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, d in decoding.items():
        g, b = d["speed"][1], d["speed"][args.beam]
        out = f"{d['length'][1]:.1f} / {d['length'][args.beam]:.1f}"
        exact = f"{d['exact'][1]:.3f} / {d['exact'][args.beam]:.3f}"
        print(f"| {short} | {name} | {g:,.1f} | {b:,.1f} | {b / g:.3f} | {out} | {exact} |")


if __name__ == "__main__":
    main()
