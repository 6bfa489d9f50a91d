"""DDP in sweeps on CPU: a 2-job x 2-rank multirun against the same 2 jobs run one after another
on one process each, and the per-step time that DDP adds (gloo, 2 ranks, same global batch).

    python bench/ddp_sweep.py [--batches 40]
Per-step times are Lightning's own (SimpleProfiler, mean of `run_training_batch`, rank 0).
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

import torch

# one epoch, one val batch, quiet (--batches sets the training batches); logging as often as in real runs,
# since each logged step costs about 0.6 ms (RESULTS.md)
COMMON = ["debug=tiny", "trainer.log_every_n_steps=10", "test=false"]


def run(args: list[str], cwd: str) -> tuple[float, str]:
    """Wall seconds and standard output of `flik-lab <args>` (must succeed)."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "flik_lab.cli", *args, *COMMON]
    env = {**os.environ, "WANDB_MODE": "offline"}
    done = subprocess.run(
        cmd, cwd=cwd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    return time.perf_counter() - start, done.stdout


def mean_step_seconds(profiler_report: str) -> float:
    """Mean `run_training_batch` duration in a SimpleProfiler report."""
    row = next(line for line in profiler_report.splitlines() if "run_training_batch" in line)
    return float(row.split("|")[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    args = parser.parse_args()
    cwd = tempfile.mkdtemp(prefix="flik-bench-")
    batches = f"trainer.limit_train_batches={args.batches}"
    sweep, _ = run(["train", "-m", "trainer=ddp_cpu", "seed=1,2", batches], cwd)
    serial = sum(run(["train", "trainer=cpu", f"seed={s}", batches], cwd)[0] for s in (1, 2))
    variants = {
        "cpu": ["trainer=cpu"],
        "ddp_cpu": ["trainer=ddp_cpu"],
        "ddp_cpu_touch": ["trainer=ddp_cpu", "model.unused_parameters=touch"],
    }
    per_step = {
        name: mean_step_seconds(run(["train", *overrides, batches, "+trainer.profiler=simple"], cwd)[1])
        for name, overrides in variants.items()
    }
    cpu = platform.processor() or platform.machine()
    print(f"device: {cpu}, {os.cpu_count()} cores, torch {torch.__version__}")
    print(f"GAN defaults (global batch 32), {args.batches} batches a job")
    print(f"2 jobs x 2 gloo ranks (multirun)     : {sweep:6.1f} s")
    print(f"2 jobs x 1 process, one after another: {serial:6.1f} s  (multirun / serial {sweep / serial:.2f})")
    print(f"per step, 1 process (batch 32)       : {per_step['cpu'] * 1000:6.1f} ms")
    for name, what in (("ddp_cpu", "find unused"), ("ddp_cpu_touch", "touch, no search")):
        added = (per_step[name] - per_step["cpu"]) * 1000
        print(
            f"per step, 2 ranks x 16, {what:16s}: {per_step[name] * 1000:6.1f} ms (DDP adds {added:+.1f} ms)"
        )


if __name__ == "__main__":
    main()
