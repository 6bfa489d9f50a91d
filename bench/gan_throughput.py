"""GAN training throughput: flik-lab's LightningModule against a plain PyTorch loop, same process.

Both train the same DCGAN networks (one D step + one G step per batch, Adam, BCE-with-logits) on the
same in-memory digits with the same batch size; the figure that matters is the ratio, because the
machine is shared. `python bench/gan_throughput.py [--batch-size 128] [--steps 200] [--device cuda]`
"""

import argparse
import time

import lightning as L
import torch
import torch.nn.functional as F
from timing import Timer, device_name, sync, timed_trainer

from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.models.dcgan import Discriminator, Generator
from flik_lab.models.gan import GAN


def networks(width: int, seed: int = 0) -> tuple[Generator, Discriminator]:
    torch.manual_seed(seed)
    return Generator(width=width), Discriminator(width=width)


def plain_loop(images: torch.Tensor, args) -> float:
    """Images/s of a hand-written loop: shuffled batches from the in-memory tensor, two steps each."""
    g, d = (m.to(args.device) for m in networks(args.width))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bs, done, start = args.batch_size, 0, None
    while done < args.warmup + args.steps:
        for idx in torch.randperm(len(images)).split(bs):
            if len(idx) < bs:
                continue
            if done == args.warmup:
                sync(args.device)
                start = time.perf_counter()
            real = images[idx].to(args.device, non_blocking=True)
            ones = torch.ones(bs, device=args.device)
            fake = g(torch.randn(bs, 100, device=args.device))
            loss_d = F.binary_cross_entropy_with_logits(d(real), ones) + (
                F.binary_cross_entropy_with_logits(d(fake.detach()), torch.zeros_like(ones))
            )
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            done += 1
            if done == args.warmup + args.steps:
                break
    sync(args.device)
    return args.steps * bs / (time.perf_counter() - start)


def lightning_loop(datamodule: MNIST5kDataModule, args) -> float:
    """Images/s of flik-lab's GAN module under a Trainer (no validation, logging or checkpoints)."""
    g, d = networks(args.width)
    model = GAN(g, d, latent_dim=100)
    timer = Timer(args.warmup, args.device)
    # manual optimization: two optimizer steps a batch
    trainer = timed_trainer(args.device, 2 * (args.warmup + args.steps), timer)
    trainer.fit(model, datamodule=datamodule)
    return args.steps * args.batch_size / timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    datamodule = MNIST5kDataModule(batch_size=args.batch_size)
    datamodule.setup()
    images = datamodule.train_set.tensors[0]
    plain, framework = [], []
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
        plain.append(plain_loop(images, args))
        framework.append(lightning_loop(datamodule, args))
    p, f = max(plain), max(framework)
    print(
        f"device: {device_name(args.device)}, torch {torch.__version__}, "
        f"lightning {L.__version__}, batch {args.batch_size}, width {args.width}, "
        f"{args.steps} timed batches, best of {args.repeats}"
    )
    print(f"plain PyTorch loop : {p:10.1f} images/s")
    print(f"flik-lab GAN       : {f:10.1f} images/s")
    print(f"ratio flik-lab / plain: {f / p:.3f}")


if __name__ == "__main__":
    main()
