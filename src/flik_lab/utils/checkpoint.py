"""The one checkpoint reader: every command and every resume opens a checkpoint here, as untrusted input.

A checkpoint is loaded weights-only (no code runs from it), bounded in size and depth, and each part is
checked before anything is built from it: the stored configs name only flik-lab's classes (or the user's
`trusted_targets`) with the types their signatures declare; the weights have the model's names and shapes
and are finite; loop counters are counts; callback and DataModule states pass their owners' checks; and no
path inside it is ever read, written or deleted.
"""

import functools
import logging
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.utils import get_object
from omegaconf import DictConfig

from flik_lab.utils.checkpoint_file import checkpoint_file
from flik_lab.utils.config_schema import check_data_fits
from flik_lab.utils.errors import InputError
from flik_lab.utils.stored_config import stored_config

log = logging.getLogger(__name__)

MAX_DEPTH = 64  # Lightning's own checkpoints nest about 8 levels deep
MAX_VALUES = 1_000_000  # containers and scalars; a tensor counts once
MAX_TEXT = 256 * 2**20  # characters in all strings: a large vocabulary's tokenizer is a few MB
SPARE_ELEMENTS = 2**26  # tensor elements a model may hold beyond its stored weights (non-persistent buffers)
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
PATH_KEYS = ("best_model_path", "kth_best_model_path", "last_model_path")  # ModelCheckpoint's state


class CheckpointError(InputError):
    """A checkpoint file, or a part of it, that flik-lab refuses; the message names the file and the part."""


def read_checkpoint(path: str | Path, key: str = "ckpt_path") -> "Checkpoint":
    """The checked checkpoint at `path`; `key` is the command-line key that named it, for errors."""
    path = checkpoint_file(path, key)
    stat = path.stat()
    try:
        raw = _load(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except CheckpointError as exc:
        raise CheckpointError(f"{key}={path}: {exc}") from None
    return Checkpoint(path, key, raw)


@functools.lru_cache(maxsize=2)  # resume reads the file in the command, the gate and the CSV logger
def _load(path: str, mtime_ns: int, size: int) -> dict:
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch suggests weights_only=False, which would run the file's code
        lines = [line.strip() for line in str(exc).splitlines() if "GLOBAL" in line]
        refused = (lines or [str(exc).splitlines()[0] if str(exc) else type(exc).__name__])[0]
        raise CheckpointError(
            "not a readable checkpoint: it holds what a weights-only load refuses "
            f"({refused.split('. ')[0]}); flik-lab never runs code from a checkpoint"
        ) from None
    _check_bounds(raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("flik_lab"), dict):
        raise CheckpointError("was not written by `flik-lab train` (no stored config)")
    _check_weights(raw.get("state_dict"))
    _check_counters(raw)
    run_id = raw["flik_lab"].get("wandb_run_id")
    if run_id is not None and not (isinstance(run_id, str) and RUN_ID.fullmatch(run_id)):
        raise CheckpointError(f"flik_lab.wandb_run_id={_shown(run_id)}: expected a W&B run id")
    return raw


def _shown(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_bounds(raw: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH and more than MAX_VALUES values or MAX_TEXT characters,
    walked without recursion so that no later (recursive) check can overflow the stack."""
    stack, values, text = [(raw, "<top>", 0)], 0, 0
    while stack:
        node, where, depth = stack.pop()
        values += 1
        if depth > MAX_DEPTH:
            raise CheckpointError(f"'{where[:200]}...' nests deeper than {MAX_DEPTH} levels")
        if values > MAX_VALUES or text > MAX_TEXT:
            raise CheckpointError(f"holds more than {MAX_VALUES} values or {MAX_TEXT} characters")
        if isinstance(node, dict):
            for name, child in node.items():
                text += len(name) if isinstance(name, str) else 0
                stack.append((child, f"{where}.{str(name)[:40]}", depth + 1))
        elif isinstance(node, list | tuple):
            stack += [(child, f"{where}[{i}]", depth + 1) for i, child in enumerate(node)]
        elif isinstance(node, str | bytes):
            text += len(node)


def _check_weights(state_dict: Any) -> None:
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError("has no weights ('state_dict'): not a checkpoint of `flik-lab train`")
    for name, value in state_dict.items():
        if not isinstance(name, str) or not torch.is_tensor(value):
            raise CheckpointError(f"state_dict entry {_shown(name)} is not a named tensor")
        if value.is_floating_point() and not torch.isfinite(value).all():
            raise CheckpointError(f"weight '{name}' holds NaN or infinite values: its run diverged")


def _check_counters(raw: dict) -> None:
    """Epoch, step and every loop counter are counts (ints >= 0); flags are bools."""
    stack = [(raw.get(key), key) for key in ("epoch", "global_step", "loops") if key in raw]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            stack += [(child, f"{where}.{name}") for name, child in node.items()]
        elif not (node is None or isinstance(node, bool) or (isinstance(node, int) and node >= 0)):
            raise CheckpointError(f"'{where}' = {_shown(node)}: expected a count (an integer >= 0)")


def read_weights(path: str | Path, module: torch.nn.Module) -> dict:
    """A bare state_dict file (what Lightning's spawn launcher hands from rank 0 to the main process): loaded
    weights-only, with exactly `module`'s names and shapes, finite."""
    try:
        weights = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable weights file ({str(exc)[:80]})") from None
    _check_bounds(weights)
    try:
        _check_weights(weights)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    check_same_weights(module.state_dict(), weights, str(path))
    return weights


class Checkpoint:
    """A checkpoint that passed the file checks; each part is checked again where it is used."""

    def __init__(self, path: Path, key: str, raw: dict):
        self.path, self.key, self._raw = path, key, raw
        self.source = f"{key}={path}"

    @property
    def wandb_run_id(self) -> str | None:
        return self._raw["flik_lab"].get("wandb_run_id")

    def model_config(self, trusted: Iterable[str] = ()) -> DictConfig:
        return stored_config(self._raw, "model", self.source, trusted)

    def model(self, trusted: Iterable[str] = (), expect: type | None = None) -> L.LightningModule:
        """The stored model (a subclass of `expect` if given) with the stored weights, in eval mode; refused
        before any allocation when its weights would not have the stored names and shapes."""
        node = self.model_config(trusted)
        cls = get_object(node._target_)
        if expect is not None and not (isinstance(cls, type) and issubclass(cls, expect)):
            raise CheckpointError(
                f"{self.source} holds a {node._target_}, not a {expect.__name__} "
                f"({expect.__module__}.{expect.__qualname__}): a {expect.__name__} checkpoint is expected"
            )
        with warnings.catch_warnings():  # weights loaded into meta tensors inside constructors
            warnings.simplefilter("ignore")
            with torch.device("meta"):
                shape_only = self._build(node)
        self._check_model_weights(shape_only)
        model = self._build(node)
        model.load_state_dict(self._raw["state_dict"])
        return model.eval()

    def _build(self, node: DictConfig) -> L.LightningModule:
        try:
            return hydra.utils.instantiate(node)
        except Exception as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, InputError) else exc
            raise CheckpointError(f"{self.source}: the stored model cannot be built: {cause}") from None

    def _check_model_weights(self, model: torch.nn.Module) -> None:
        """The stored weights have exactly the names and shapes `model` expects, and `model` holds no more
        tensor elements than them (plus SPARE_ELEMENTS for buffers and inputs that are never saved)."""
        check_same_weights(model.state_dict(), self._raw["state_dict"], self.source)
        stored = sum(t.numel() for t in self._raw["state_dict"].values())
        needed = sum(t.numel() for t in _tensors(model))
        if needed > stored + SPARE_ELEMENTS:
            raise CheckpointError(
                f"{self.source}: the stored model config asks for {needed:,} tensor elements, its weights "
                f"hold {stored:,}: refused before allocating"
            )

    def data_config(self, trusted: Iterable[str] = (), data_dir: str | None = None) -> DictConfig:
        """The stored data config, fit for the stored model's kind, reading only under `data_dir` (the
        user's): the stored `data_dir` is replaced, and any other path must be relative, inside it."""
        node = stored_config(self._raw, "data", self.source, trusted)
        model = self.model_config(trusted)
        check_data_fits(get_object(model._target_), get_object(node._target_), self.source)
        for name, value in node.items():
            if name == "data_dir":
                node[name] = data_dir
            elif isinstance(value, str) and _escapes(value):
                raise CheckpointError(
                    f"{self.source}: stored config key 'data.{name}' = {_shown(value)} names a place outside "
                    "the data directory; a checkpoint's paths are never used (give data= to choose them)"
                )
        return node

    def data_state(self, datamodule: type) -> dict:
        """The state `datamodule` saved in this checkpoint, checked by the class's own `checked_state`."""
        state = self._raw.get(datamodule.__qualname__)
        if not isinstance(state, dict) or not state:
            raise CheckpointError(
                f"{self.source} holds no {datamodule.__name__} state: its model was not trained on it"
            )
        return checked_owner_state(datamodule, state, f"{self.source}: {datamodule.__name__} state")

    def for_resume(self, trainer: L.Trainer, checkpoint_dirs: Iterable[Path]) -> dict:
        """What Lightning restores a run from: every part checked against this run's model, callbacks and
        DataModule; callback paths outside `checkpoint_dirs` dropped (a resumed run never deletes them)."""
        raw, module = dict(self._raw), trainer.lightning_module
        check_same_weights(module.state_dict(), raw["state_dict"], self.source)
        _check_optimizer_states(raw.get("optimizer_states", []), module, self.source)
        datamodule = trainer.datamodule
        if datamodule is not None and type(datamodule).__qualname__ in raw:
            name = type(datamodule).__qualname__
            raw[name] = checked_owner_state(type(datamodule), raw[name], f"{self.source}: {name} state")
        dirs = [Path(d).resolve() for d in checkpoint_dirs]
        owners = {callback.state_key: callback for callback in trainer.callbacks}
        callbacks = raw.get("callbacks", {})
        if not isinstance(callbacks, dict):
            raise CheckpointError(f"{self.source}: 'callbacks' is {_shown(callbacks)}, expected a mapping")
        raw["callbacks"] = {}
        for name, state in callbacks.items():
            where = f"{self.source}: callbacks.{str(name)[:80]}"
            owner = type(owners[name]) if name in owners else object
            raw["callbacks"][name] = _inside_dirs(checked_owner_state(owner, state, where), dirs, where)
        return raw


def _tensors(model: torch.nn.Module) -> list[torch.Tensor]:
    """Every tensor `model` holds: parameters, buffers, and plain tensor attributes (example inputs)."""
    held = [*model.parameters(), *model.buffers()]
    held += [v for m in model.modules() for v in vars(m).values() if torch.is_tensor(v)]
    return held


def checked_owner_state(owner: type, state: Any, where: str) -> dict:
    """`owner.checked_state(state)` for a class that declares it (DataModules, callbacks), else `state`."""
    check = getattr(owner, "checked_state", None)
    if not isinstance(state, dict):
        raise CheckpointError(f"{where} = {_shown(state)}: expected a mapping")
    if check is None or not state:  # an owner saves an empty state before it has anything to keep
        return state
    try:
        return check(state)
    except InputError as exc:
        raise CheckpointError(f"{where}: {exc}") from None


def check_vocabulary_fits(tokens: int, embeddings: int, source: str) -> None:
    """A tokenizer of `tokens` ids may only feed an embedding table of at least as many rows."""
    if tokens > embeddings:
        raise CheckpointError(
            f"{source}: its tokenizer has {tokens} tokens, the model embeds only {embeddings}: "
            "token ids would index past the embeddings"
        )


def check_same_weights(expected: dict, stored: dict, source: str) -> None:
    """Raise naming the first weight missing, unexpected, or of another shape or kind than `expected`'s."""
    missing, unexpected = expected.keys() - stored.keys(), stored.keys() - expected.keys()
    if missing or unexpected:
        which = f"lacks '{sorted(missing)[0]}'" if missing else f"holds an unknown '{sorted(unexpected)[0]}'"
        raise CheckpointError(
            f"{source}: its weights do not fit the stored model ({which}; {len(missing)} missing, "
            f"{len(unexpected)} unknown)"
        )
    for name, tensor in expected.items():
        value = stored[name]
        if value.shape != tensor.shape or value.is_floating_point() != tensor.is_floating_point():
            raise CheckpointError(
                f"{source}: weight '{name}' is {value.dtype} {tuple(value.shape)}, the model's is "
                f"{tensor.dtype} {tuple(tensor.shape)}"
            )


def _check_optimizer_states(states: Any, module: torch.nn.Module, source: str) -> None:
    """Each optimizer state is a mapping whose per-parameter tensors have the shape of some parameter."""
    shapes = {tuple(p.shape) for p in module.parameters()}
    if not isinstance(states, list):
        raise CheckpointError(f"{source}: 'optimizer_states' = {_shown(states)}: expected a list")
    for i, state in enumerate(states):
        if not (isinstance(state, dict) and isinstance(state.get("state"), dict)):
            raise CheckpointError(f"{source}: optimizer_states[{i}] is not an optimizer's state_dict")
        for index, per_param in state["state"].items():
            tensors = per_param.items() if isinstance(per_param, dict) else []
            for name, value in tensors:
                if torch.is_tensor(value) and value.dim() > 0 and tuple(value.shape) not in shapes:
                    raise CheckpointError(
                        f"{source}: optimizer_states[{i}].state[{index}].{name} has shape "
                        f"{tuple(value.shape)}, which no parameter of the model has"
                    )
                if torch.is_tensor(value) and value.is_floating_point() and not torch.isfinite(value).all():
                    raise CheckpointError(f"{source}: optimizer_states[{i}].state[{index}].{name} not finite")


def _escapes(value: str) -> bool:
    """Whether a stored string would name a place outside the data directory (absolute, `~`, `..`, URL)."""
    path = Path(value)
    return path.is_absolute() or value.startswith("~") or ".." in path.parts or "://" in value


def _inside_dirs(state: dict, dirs: list[Path], where: str) -> dict:
    """`state` with every checkpoint path outside `dirs` dropped: Lightning deletes the files such paths
    name when it replaces a best or last checkpoint."""
    state = dict(state)
    for key in PATH_KEYS:
        if key in state and state[key] and not _in(state[key], dirs):
            log.warning("%s.%s = %s is outside this run's checkpoints: not restored", where, key, state[key])
            state[key] = ""
    if isinstance(state.get("best_k_models"), dict):
        state["best_k_models"] = {p: v for p, v in state["best_k_models"].items() if _in(p, dirs)}
    return state


def _in(path: Any, dirs: list[Path]) -> bool:
    if not isinstance(path, str) or "://" in path or "::" in path or not path.endswith(".ckpt"):
        return False
    return Path(path).resolve().parent in dirs
