"""The random state (torch, CUDA, numpy, python) saved in each checkpoint and restored on resume, so that
N epochs straight and N/2 + resume take the same steps (dropout masks, GAN noise)."""

import random

import lightning as L
import numpy as np
import torch

from flik_lab.utils.same_layout import same_layout


def capture_random_state() -> dict:
    """Every global generator's state as tensors and plain numbers (loadable with `weights_only=True`)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state((n["kind"], keys, n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RandomStateInCheckpoint(L.Callback):
    """Saves the random state with every checkpoint; restores it when training resumes from one.

    Restored at `on_train_start`: after model building, seeding and the (isolated) sanity check, before the
    first resumed batch. Under DDP the checkpoint holds rank 0's state, which every rank then restores.
    """

    def __init__(self) -> None:
        self._to_restore: dict | None = None

    def state_dict(self) -> dict:
        return capture_random_state()

    def load_state_dict(self, state_dict: dict) -> None:
        self._to_restore = state_dict or None

    @staticmethod
    def checked_state(state: dict) -> dict:
        """A stored random state must have the layout `capture_random_state` writes (the checkpoint
        reader's check): the generators' setters accept nothing else."""
        expected = capture_random_state()
        expected.pop("cuda", None)
        if state:
            same_layout(state, expected, "random state")
        return state

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._to_restore is not None:
            restore_random_state(self._to_restore)
            self._to_restore = None
