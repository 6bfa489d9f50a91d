"""Shared by the benchmarks: device names, CUDA sync, and a Trainer that times its batches."""

import os
import platform
import subprocess
import time

import lightning as L
import torch


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def device_name(device: str) -> str:
    """The GPU's name, or the CPU model (lscpu) and core count."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    name = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        name = next(
            (ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), ""
        )
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} cores (cpu)"


class Timer(L.Callback):
    """Wall time from the first batch after the warm-up ones to the end of training."""

    def __init__(self, warmup: int, device: str):
        self.warmup, self.device, self.start, self.end = warmup, device, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.fit_loop.epoch_loop._batches_that_stepped == self.warmup:
            sync(self.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        sync(self.device)
        self.end = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.end - self.start


def timed_trainer(device: str, max_steps: int, timer: Timer, max_epochs: int = -1) -> L.Trainer:
    """A Trainer that only trains: no validation, logging, checkpoints, progress bar or summary."""
    return L.Trainer(
        accelerator="gpu" if device.startswith("cuda") else "cpu",
        devices=1,
        max_steps=max_steps,
        max_epochs=max_epochs,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[timer],
    )
