"""A checkpoint's stored config is untrusted input: it may only build flik-lab's own classes.

The allow-list is every `_target_` of the shipped model and data configs (nested nodes included), so adding a
model (one file + one YAML) keeps it right; users add classes of their own with `trusted_targets=[...]`.
"""

import functools
from collections.abc import Iterable, Iterator
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from flik_lab.utils.conf import conf_files
from flik_lab.utils.config_schema import ConfigError, validate_config

GROUPS = ("model", "data")  # config groups whose classes a checkpoint may name
# a model's optimizer and schedule factories (`_partial_` nodes) only train: never built from a checkpoint;
# so do the optimizer keys that older checkpoints hold (beta1, beta2, weight_decay)
TRAINING_ONLY = ("optimizer", "optimizer_g", "optimizer_d", "scheduler", "beta1", "beta2", "weight_decay")
# classes that moved: a checkpoint written before the move names the old path
RENAMED = {"flik_lab.models.text.vanilla_rnn.RNNEncoder": "flik_lab.models.text.rnn.RNNEncoder"}
HINT = "if you trust this checkpoint, name the class in trusted_targets=[...]"


class UntrustedConfigError(ConfigError):
    """A stored config that would build something flik-lab does not know, or in a way it never writes."""


@functools.cache
def known_targets() -> frozenset[str]:
    """Every `_target_` in conf/model/*.yaml, conf/data/*.yaml and the model/data nodes of experiments."""
    trees = [yaml.safe_load(p.read_text()) for g in GROUPS for p in conf_files(g)]
    for path in conf_files("experiment"):
        experiment = yaml.safe_load(path.read_text()) or {}
        trees += [experiment.get(g) for g in GROUPS]
    return frozenset(target for tree in trees for target in _targets(tree))


def targets_to_trust(*configs: Any) -> list[str]:
    """The `_target_`s of resolved model/data configs that a checkpoint command refuses unless named in
    `trusted_targets=[...]`: the classes flik-lab does not ship."""
    return sorted({target for config in configs for target in _targets(config)} - known_targets())


def _targets(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            yield node["_target_"]
        node = [value for key, value in node.items() if key not in TRAINING_ONLY]
    if isinstance(node, list):
        for child in node:
            yield from _targets(child)


def stored_config(ckpt: dict, section: str, source: str, trusted: Iterable[str] = ()) -> DictConfig:
    """The checkpoint's stored `section` ("model" or "data") config, checked; `source` ("ckpt_path=...") names
    the file in errors. Raises `UntrustedConfigError` before anything is imported or instantiated."""
    stored = ckpt.get("flik_lab")
    config = stored.get(section) if isinstance(stored, dict) else None
    if not isinstance(config, dict) or "_target_" not in config:
        raise UntrustedConfigError(f"{source}: the stored {section} config is not a `_target_` node")
    config = _renamed({key: value for key, value in config.items() if key not in TRAINING_ONLY})
    _refuse(config, section, None, source, known_targets() | set(trusted))
    try:
        node = OmegaConf.create({section: config})
        validate_config(node)  # only allowed targets are imported: keys must be their documented arguments
    except ConfigError as exc:
        raise UntrustedConfigError(f"{source}: stored config refused: {exc}") from exc
    except Exception as exc:  # values OmegaConf cannot hold (tensors, bytes)
        raise UntrustedConfigError(f"{source}: the stored {section} config cannot be read: {exc}") from exc
    return node[section]


def _renamed(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: RENAMED.get(v, v) if k == "_target_" else _renamed(v) for k, v in node.items()}
    return [_renamed(child) for child in node] if isinstance(node, list) else node


def _refuse(node: Any, key: str, owner: str | None, source: str, allowed: frozenset[str]) -> None:
    """Refuse unknown targets, Hydra keys other than `_target_` and `${...}` anywhere below `node`."""
    if isinstance(node, dict):
        if "_target_" in node:
            owner = node["_target_"]
            if not isinstance(owner, str) or owner not in allowed:
                raise UntrustedConfigError(
                    f"{source}: stored config key '{key}._target_' names {owner!r}, which flik-lab does not "
                    f"build from a checkpoint (only its own models, networks, FID and data modules); {HINT}"
                )
        for name, child in node.items():
            where = f"{key}.{name}"
            if isinstance(name, str) and name.startswith("_") and name.endswith("_") and name != "_target_":
                raise UntrustedConfigError(
                    f"{source}: stored config key '{where}' (of {owner}) is a Hydra key that stored configs "
                    "never hold; only `_target_` is allowed"
                )
            _refuse(child, where, owner, source, allowed)
    elif isinstance(node, list | tuple):
        for i, child in enumerate(node):
            _refuse(child, f"{key}[{i}]", owner, source, allowed)
    elif isinstance(node, str) and "${" in node:
        raise UntrustedConfigError(
            f"{source}: stored config key '{key}' (of {owner}) holds the interpolation {node!r}; "
            "stored configs are written resolved"
        )
