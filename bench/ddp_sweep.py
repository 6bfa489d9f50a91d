"""DDP in sweeps on CPU: a 2-job x 2-rank multirun against the same 2 jobs run one after another
on one process each, and the per-step time that DDP adds (gloo, 2 ranks, same global batch).

    python bench/ddp_sweep.py [--batches 40] [--small 10]
Per-step times come from two runs of different lengths, so start-up and validation cancel out.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import torch

COMMON = ["callbacks.progress_bar=null", "callbacks.model_summary=null", "trainer.max_epochs=1",
          "+trainer.limit_val_batches=1", "test=false"]  # fmt: skip


def run(args: list[str], cwd: str) -> float:
    """Wall seconds of `flik-lab <args>` (must succeed)."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "flik_lab.cli", *args, *COMMON]
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, env={**os.environ, "WANDB_MODE": "offline"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--small", type=int, default=10)
    args = parser.parse_args()
    cwd = tempfile.mkdtemp(prefix="flik-bench-")
    batches = f"+trainer.limit_train_batches={args.batches}"
    sweep = run(["train", "-m", "trainer=ddp_cpu", "seed=1,2", batches], cwd)
    serial = sum(run(["train", "trainer=cpu", f"seed={s}", batches], cwd) for s in (1, 2))
    per_step = {}
    for trainer in ("cpu", "ddp_cpu"):
        long = run(["train", f"trainer={trainer}", batches], cwd)
        short = run(["train", f"trainer={trainer}", f"+trainer.limit_train_batches={args.small}"], cwd)
        per_step[trainer] = (long - short) / (args.batches - args.small)
    cpu = platform.processor() or platform.machine()
    print(f"device: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"GAN defaults (global batch 32), {args.batches} batches a job")
    print(f"2 jobs x 2 gloo ranks (multirun)     : {sweep:6.1f} s")
    print(f"2 jobs x 1 process, one after another: {serial:6.1f} s  (multirun / serial {sweep / serial:.2f})")
    print(f"per step, 1 process (batch 32)       : {per_step['cpu'] * 1000:6.1f} ms")
    print(f"per step, 2 ranks x 16 (gloo)        : {per_step['ddp_cpu'] * 1000:6.1f} ms "
          f"(DDP adds {(per_step['ddp_cpu'] - per_step['cpu']) * 1000:+.1f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()
