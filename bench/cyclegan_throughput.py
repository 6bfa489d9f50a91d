"""CycleGAN training throughput: flik-lab's `CycleGAN` under a Trainer against a plain loop.

Per size preset (`digits`: conf/model/cyclegan_digits.yaml, 1x28x28; `rgb64`: conf/model/cyclegan.yaml,
3x64x64), both loops train the same four networks (the same initial weights by seed) on the same fixed list of
batches: per batch, first G and F on least-squares GAN + lambda_cycle x cycle L1 + lambda_cycle x
lambda_identity x identity L1 with the discriminators frozen, then D_A and D_B on real images and history-pool
images (the same `ImagePool`, the same draws by seed), one Adam per pair with the config's lr and betas, and
the config's linear decay stepped once per batch. The figure is images/s (both domains' images: 2 x batch size
per batch), repeats interleaved, median; the ratio flik-lab / plain is what matters on a shared machine. The
last column, the largest weight difference between the two loops' networks after a run, shows that they did
the same maths.

Batches: `digits` takes the train split of `UnpairedImageDataModule(source="digits")` (handwritten <->
typeset) in its sampler's order; `rgb64` random images in [-1, 1]. They are built once and moved to the device
once (the digits DataModule gathers its batches on the GPU too). flik-lab's timer starts at the first batch
after the warm-up ones (it counts batches, not `global_step`, which counts 2 per batch under manual
optimization). Neither `wandb` nor `datasets` is imported.
`python bench/cyclegan_throughput.py [--device cuda] [--presets digits,rgb64] [--steps 30] [--repeats 3]
[--threads N]`
"""

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from timing import Timer, device_name, sync, timed_trainer

from flik_lab.data.unpaired import PairedRows, UnpairedBatches, UnpairedImageDataModule
from flik_lab.models.cyclegan import CycleGAN
from flik_lab.models.image_pool import ImagePool

CONF = Path(__file__).resolve().parents[1] / "conf" / "model"
PRESETS = {"digits": ("cyclegan_digits.yaml",), "rgb64": ("cyclegan_digits.yaml", "cyclegan.yaml")}
SHAPES = {"digits": (1, 28, 28), "rgb64": (3, 64, 64)}
NETWORKS = ("generator_ab", "generator_ba", "discriminator_a", "discriminator_b")


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def model_config(preset: str) -> DictConfig:
    """The preset's model config as Hydra composes it (cyclegan.yaml: cyclegan_digits.yaml, then its keys)."""
    cfg = OmegaConf.create()
    for name in PRESETS[preset]:
        node = OmegaConf.load(CONF / name)
        node.pop("defaults", None)
        cfg = OmegaConf.merge(cfg, node)
    cfg.content_classifier = None  # evaluation only (experiment=cyclegan_digits sets it)
    return cfg


def make_networks(cfg: DictConfig, seed: int) -> dict[str, torch.nn.Module]:
    """G, F, D_A, D_B with the same initial weights for a given seed, whichever loop trains them."""
    torch.manual_seed(seed)
    return {name: instantiate(cfg[name]) for name in NETWORKS}


def digit_batches(batch_size: int, count: int) -> list[dict]:
    """The first `count` training batches of the digits DataModule (epochs 0, 1, ... of its sampler)."""
    datamodule = UnpairedImageDataModule(source="digits", batch_size=batch_size)
    datamodule.setup()
    a, b = datamodule.splits["train"]
    rows, sampler = PairedRows(a, b, gather=True), UnpairedBatches(len(a), len(b), batch_size, True, seed=0)
    batches, epoch = [], 0
    while len(batches) < count:
        sampler.set_epoch(epoch)
        batches += [rows[batch] for batch in sampler][: count - len(batches)]
        epoch += 1
    return batches


def random_batches(shape: tuple[int, ...], batch_size: int, count: int) -> list[dict]:
    generator = torch.Generator().manual_seed(0)
    labels = torch.full((batch_size,), -1)

    def images() -> torch.Tensor:
        return torch.rand((batch_size, *shape), generator=generator) * 2 - 1

    return [{"a": images(), "b": images(), "label_a": labels, "label_b": labels} for _ in range(count)]


def to_device(batch: dict, device: str) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


def linear_decay_factor(cfg: DictConfig, total_steps: int):
    """The config's schedule as a LambdaLR factor: constant for `constant_fraction` of the steps, then linear
    down to `min_lr_ratio` at the last one (optimization.linear_decay, written out)."""
    fraction, floor = cfg.scheduler.constant_fraction, cfg.scheduler.min_lr_ratio
    constant = int(fraction * total_steps)

    def factor(step: int) -> float:
        return floor + (1 - floor) * (1 - min(1.0, max(0, step - constant) / max(1, total_steps - constant)))

    return factor


def lsgan(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.mse_loss(logits, torch.full_like(logits, target))


def train_plain(nets: dict[str, torch.nn.Module], cfg: DictConfig, batches: list[dict], args) -> float:
    """A hand-written CycleGAN loop over `batches`; images/s (both domains) over those after the warm-up."""
    g_ab, g_ba, d_a, d_b = (nets[name].to(args.device).train() for name in NETWORKS)
    generators, discriminators = (g_ab, g_ba), (d_a, d_b)
    g_params = [p for net in generators for p in net.parameters()]
    d_params = [p for net in discriminators for p in net.parameters()]
    opt_g = torch.optim.Adam(g_params, lr=cfg.lr, betas=tuple(cfg.optimizer_g.betas))
    opt_d = torch.optim.Adam(d_params, lr=cfg.lr, betas=tuple(cfg.optimizer_d.betas))
    schedules = []
    if cfg.scheduler is not None:  # stepped once per batch, over the run's batches
        factor = linear_decay_factor(cfg, len(batches))
        schedules = [torch.optim.lr_scheduler.LambdaLR(opt, factor) for opt in (opt_g, opt_d)]
    pool_a, pool_b = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)
    lambda_cycle, lambda_identity, clip = cfg.lambda_cycle, cfg.lambda_identity, cfg.grad_clip_norm
    torch.manual_seed(args.seed + 1)  # the pools' draws, as in train_lightning
    start = None
    for i, batch in enumerate(batches):
        if i == args.warmup:
            sync(args.device)
            start = time.perf_counter()
        real_a, real_b = batch["a"], batch["b"]
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        # G and F, against frozen discriminators
        for p in d_params:
            p.requires_grad_(False)
        loss_g = lsgan(d_b(fake_b), 1.0) + lsgan(d_a(fake_a), 1.0)
        loss_g = loss_g + lambda_cycle * (F.l1_loss(g_ba(fake_b), real_a) + F.l1_loss(g_ab(fake_a), real_b))
        if lambda_identity > 0:
            identity = F.l1_loss(g_ab(real_b), real_b) + F.l1_loss(g_ba(real_a), real_a)
            loss_g = loss_g + lambda_cycle * lambda_identity * identity
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(g_params, clip)
        opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
        # D_A and D_B on real and pooled generated images
        pooled_a, pooled_b = pool_a.query(fake_a), pool_b.query(fake_b)
        loss_a = lsgan(d_a(real_a), 1.0) + lsgan(d_a(pooled_a), 0.0)
        loss_b = lsgan(d_b(real_b), 1.0) + lsgan(d_b(pooled_b), 0.0)
        loss_d = 0.5 * (loss_a + loss_b)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(d_params, clip)
        opt_d.step()
        for schedule in schedules:
            schedule.step()
    sync(args.device)
    images = 2 * sum(len(b["a"]) for b in batches[args.warmup :])
    return images / (time.perf_counter() - start)


class Batches:
    """A list of ready batches as one iterable (Lightning reads a bare list as several dataloaders)."""

    def __init__(self, batches: list[dict]):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def train_lightning(nets: dict[str, torch.nn.Module], cfg: DictConfig, batches: list[dict], args) -> float:
    """Images/s of flik-lab's CycleGAN, built from the config, under a Trainer (no validation, logging or
    checkpoints). One epoch over `batches`: the scheduler's `estimated_stepping_batches` is their number."""
    rest = OmegaConf.masked_copy(cfg, [key for key in cfg if key not in NETWORKS])
    model: CycleGAN = instantiate(rest, **nets)
    timer = Timer(args.warmup, args.device)  # counts batches (_batches_that_stepped), one per batch
    trainer = timed_trainer(args.device, -1, timer, max_epochs=1)
    torch.manual_seed(args.seed + 1)  # the pools' draws, as in train_plain
    trainer.fit(model, train_dataloaders=Batches(batches))
    return 2 * sum(len(b["a"]) for b in batches[args.warmup :]) / timer.seconds


def max_difference(one: dict[str, torch.nn.Module], other: dict[str, torch.nn.Module]) -> float:
    return max(
        (p - q).abs().max().item()
        for name in NETWORKS
        for p, q in zip(one[name].parameters(), other[name].parameters(), strict=True)
    )


def size_label(cfg: DictConfig) -> str:
    g, d = cfg.generator_ab, cfg.discriminator_a
    return (
        f"G/F width {g.width}, {g.num_blocks} blocks, {g.num_downsampling} downsamplings; "
        f"D width {d.width}, {d.num_layers} layers"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--presets", default="digits", help=f"comma-separated, of {', '.join(PRESETS)}")
    parser.add_argument("--batch-size", type=int, default=16, help="16: conf/data/unpaired_digits.yaml")
    parser.add_argument("--steps", type=int, default=30, help="timed batches per preset and loop")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="weights: seed; pool draws: seed + 1")
    args = parser.parse_args()
    presets = args.presets.split(",")
    for preset in presets:
        if preset not in PRESETS:
            parser.error(f"--presets: unknown preset {preset!r}; the presets are {', '.join(PRESETS)}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda but no CUDA device is available")
    if args.steps < 1 or args.warmup < 0 or args.repeats < 1:
        parser.error("--steps and --repeats must be 1 or more, --warmup 0 or more")
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*(smaller than the logging|no `val_dataloader`|LeafSpec).*")
    total = time.perf_counter()

    count = args.warmup + args.steps
    configs = {preset: model_config(preset) for preset in presets}
    batches = {}
    for preset in presets:
        progress(f"{preset}: building {count} batches of {args.batch_size}")
        built = (
            digit_batches(args.batch_size, count)
            if preset == "digits"
            else random_batches(SHAPES[preset], args.batch_size, count)
        )
        batches[preset] = [to_device(b, args.device) for b in built]

    speed = {(p, loop): [] for p in presets for loop in ("plain", "flik")}
    difference = {p: [] for p in presets}
    params = {}
    for r in range(args.repeats):  # interleaved, so drifts in the machine's load hit both loops alike
        for preset in presets:
            cfg = configs[preset]
            progress(f"repeat {r + 1}/{args.repeats}: {preset}, plain PyTorch")
            plain_nets = make_networks(cfg, args.seed)
            params[preset] = sum(p.numel() for net in plain_nets.values() for p in net.parameters())
            speed[preset, "plain"].append(train_plain(plain_nets, cfg, batches[preset], args))
            progress(f"repeat {r + 1}/{args.repeats}: {preset}, flik-lab")
            flik_nets = make_networks(cfg, args.seed)
            speed[preset, "flik"].append(train_lightning(flik_nets, cfg, batches[preset], args))
            difference[preset].append(max_difference(plain_nets, flik_nets))

    name_of_device = device_name(args.device)
    short = name_of_device.split(" (")[0]
    print(
        f"\ndevice: {name_of_device}, torch {torch.__version__} ({torch.get_num_threads()} CPU threads), "
        f"lightning {L.__version__}; total run {time.perf_counter() - total:.0f} s"
    )
    print(f"command: python bench/cyclegan_throughput.py {' '.join(sys.argv[1:])}")
    for preset in presets:
        cfg = configs[preset]
        shape = "x".join(map(str, SHAPES[preset]))
        print(
            f"{preset} ({' + '.join(PRESETS[preset])}): {shape}, {size_label(cfg)}, {params[preset]:,} "
            f"parameters; Adam lr {cfg.lr} betas {tuple(cfg.optimizer_g.betas)}, lambda_cycle "
            f"{cfg.lambda_cycle}, lambda_identity {cfg.lambda_identity}, pool {cfg.pool_size}"
        )
        pairs = zip(speed[preset, "plain"], speed[preset, "flik"], strict=True)
        runs = [f"{p:,.1f}/{f:,.1f}" for p, f in pairs]
        print(f"{preset} repeats (plain/flik-lab images/s): {', '.join(runs)}")

    source = {"digits": "the digits DataModule's train batches", "rgb64": "random images"}
    print(
        f"\n**CycleGAN training**, images/s of both domains (2 x {args.batch_size} a batch; median of "
        f"{args.repeats} interleaved repeats, {args.steps} timed batches after {args.warmup} warm-up ones; "
        f"{'; '.join(f'{p}: {source[p]}' for p in presets)}); flik-lab: `CycleGAN` under a `Trainer`; "
        "last column: the largest weight difference of the loops' networks after a run.\n"
    )
    print(
        "| device | preset | plain PyTorch img/s | flik-lab img/s | ms/batch plain / flik-lab "
        "| ratio flik-lab / plain | max \\|Δw\\| |"
    )
    print("|---|---|---|---|---|---|---|")
    per_batch = 2 * args.batch_size * 1000
    for preset in presets:
        p, f = statistics.median(speed[preset, "plain"]), statistics.median(speed[preset, "flik"])
        print(
            f"| {short} | {preset} | {p:,.1f} | {f:,.1f} | {per_batch / p:,.1f} / {per_batch / f:,.1f} "
            f"| **{f / p:.3f}** | {max(difference[preset]):.1e} |"
        )


if __name__ == "__main__":
    main()
