"""Validate a composed config against structured schemas derived from each `_target_`'s signature.

Every node with a `_target_` is merged into an OmegaConf structured config made from the target's
constructor, so an unknown key, a value of the wrong type or a missing required value fails with
the key's full name before anything is instantiated or trained.
"""

import dataclasses
import inspect
import types
import typing
from typing import Any

from hydra.utils import get_object
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from flik_lab.utils.errors import InputError

HYDRA_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")
_SIMPLE = (int, float, bool, str)


class ConfigError(InputError):
    """A config that cannot be run, with the offending key in its message."""


def _field_type(annotation: Any) -> Any:
    """The OmegaConf-checkable form of a type hint: scalars and Optional scalars, else Any."""
    if annotation in _SIMPLE:
        return annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and rest[0] in _SIMPLE and len(args) == 2:
            return typing.Optional[rest[0]]
    return Any


def _schema(target: str, key: str) -> tuple[Any, bool]:
    """A dataclass mirroring `target`'s parameters, and whether it accepts extra keywords."""
    try:
        obj = get_object(target)
    except Exception as exc:
        raise ConfigError(f"{key}._target_={target!r} cannot be imported: {exc}") from exc
    init = obj.__init__ if inspect.isclass(obj) else obj
    signature = inspect.signature(init)
    try:
        hints = typing.get_type_hints(init)
    except Exception:  # unresolvable forward references: check keys only
        hints = {}
    fields: list[tuple] = [(name, Any, dataclasses.field(default=None)) for name in HYDRA_KEYS]
    extra = False
    for name, param in signature.parameters.items():
        if name == "self" or param.kind is param.VAR_POSITIONAL:
            continue
        if param.kind is param.VAR_KEYWORD:
            extra = True
            continue
        ftype = _field_type(hints.get(name, Any))
        default = MISSING if param.default is param.empty else param.default
        if default is None and ftype in _SIMPLE:  # `x: int = None`: the hint forgot Optional
            ftype = typing.Optional[ftype]
        if not (default is MISSING or default is None or isinstance(default, _SIMPLE)):
            ftype, default = Any, None  # a default OmegaConf cannot hold (tuple, object): any value
        fields.append((name, ftype, dataclasses.field(default=default)))
    name = target.rsplit(".", 1)[-1] + "Schema"
    return dataclasses.make_dataclass(name, fields), extra


def _check_node(node: DictConfig, key: str) -> None:
    schema, extra = _schema(node._target_, key)
    structured = OmegaConf.structured(schema)
    OmegaConf.set_struct(structured, not extra)
    values = OmegaConf.to_container(node, resolve=True)
    values = {k: (None if isinstance(v, dict) and "_target_" in v else v) for k, v in values.items()}
    try:
        merged = OmegaConf.merge(structured, values)
    except OmegaConfBaseException as exc:
        where = f"{key}.{exc.full_key}" if exc.full_key else key
        raise ConfigError(f"invalid config key '{where}' ({node._target_}): {exc.msg}") from exc
    missing = [f"{key}.{m}" for m in OmegaConf.missing_keys(merged)]
    if missing and not node.get("_partial_"):  # a partial node leaves arguments to its caller
        raise ConfigError(f"missing required value(s) {missing} for {node._target_}")


def validate_config(cfg: DictConfig) -> None:
    """Raise `ConfigError` naming the first bad key of `cfg`, including keys left as `???`, or a data
    config that cannot feed the model."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"missing required value(s): {missing}; set them on the command line")
    _walk(cfg, "")
    model, data = cfg.get("model"), cfg.get("data")
    if all(isinstance(node, DictConfig) and "_target_" in node for node in (model, data)):
        check_data_fits(get_object(model._target_), get_object(data._target_), "data")


def check_data_fits(model: type, datamodule: type, source: str) -> None:
    """Refuse a DataModule that cannot feed `model`: the model's `data_kind` must be among the DataModule's
    `data_kinds` (a class that declares neither is not checked); `source` names the config in the error."""
    wanted, offered = getattr(model, "data_kind", None), getattr(datamodule, "data_kinds", None)
    if wanted is not None and offered is not None and wanted not in offered:
        raise ConfigError(
            f"{source}: {model.__name__} trains on {wanted}, but {datamodule.__name__} provides "
            f"{', '.join(offered)}; choose a data config that provides {wanted}"
        )


def _walk(node: Any, key: str) -> None:
    if isinstance(node, DictConfig | ListConfig) and node._is_none():  # an Optional container left None
        return
    if isinstance(node, DictConfig):
        if "_target_" in node:
            _check_node(node, key or "<root>")
        for child in node:
            if not str(child).startswith("_"):
                _walk(node._get_node(child), f"{key}.{child}" if key else str(child))
    elif isinstance(node, ListConfig):
        for i, child in enumerate(node):
            _walk(child, f"{key}[{i}]")
