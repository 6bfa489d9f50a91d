"""Validate a composed config against structured schemas derived from each `_target_`'s signature.

Every node with a `_target_` is merged into an OmegaConf structured config made from the target's
constructor, so an unknown key, a value of the wrong type, a value outside the range its annotation
declares or a missing required value fails with the key's full name before anything is instantiated.
The signature is read from the target's source (utils/static_signature.py), so nothing is imported; a
target whose source cannot tell is imported.
"""

import dataclasses
import inspect
import types
import typing
from typing import Annotated, Any, Literal

from hydra.utils import get_object
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from flik_lab.utils.arguments import ArgumentError, Check, declared_check
from flik_lab.utils.errors import InputError
from flik_lab.utils.static_modules import Unreadable
from flik_lab.utils.static_signature import (
    EMPTY,
    UNKNOWN,
    Parameter,
    Signature,
    static_class_attribute,
    static_signature,
)

HYDRA_KEYS = ("_target_", "_partial_", "_recursive_", "_convert_", "_args_")
_SIMPLE = (int, float, bool, str)


class ConfigError(InputError):
    """A config that cannot be run, with the offending key in its message."""


@dataclasses.dataclass(frozen=True)
class SchemaField:
    """A key of a target's schema: its OmegaConf type, default (`MISSING`: required) and declared check."""

    name: str
    type: Any
    default: Any
    check: Check | None


def _field_type(annotation: Any) -> Any:
    """The OmegaConf-checkable form of a type hint: scalars and Optional scalars, else Any."""
    if annotation in _SIMPLE:
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _field_type(args[0])
    if origin is Literal:
        kinds = {type(arg) for arg in args}
        return kinds.pop() if len(kinds) == 1 and kinds <= {int, str} else Any
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = _field_type(rest[0]) if len(rest) == 1 and len(args) == 2 else Any
        if inner in _SIMPLE:
            return typing.Optional[inner]
    return Any


def schema_fields(signature: Signature) -> list[SchemaField]:
    """The keys a target's config node may hold besides Hydra's, as its signature allows them."""
    fields = []
    for parameter in signature.parameters:
        ftype = _field_type(parameter.annotation)
        default = MISSING if parameter.default is EMPTY else parameter.default
        if default is None and ftype in _SIMPLE:  # `x: int = None`: the hint forgot Optional
            ftype = typing.Optional[ftype]
        if default is UNKNOWN or not (default is MISSING or default is None or isinstance(default, _SIMPLE)):
            ftype, default = Any, None  # a default OmegaConf cannot hold (tuple, object): any value
        fields.append(SchemaField(parameter.name, ftype, default, declared_check(parameter.annotation)))
    return fields


def live_signature(obj: Any) -> Signature:
    """The signature of an imported class (its `__init__` without `self`) or function."""
    init = obj.__init__ if inspect.isclass(obj) else obj
    parameters = list(inspect.signature(init).parameters.values())
    if inspect.isclass(obj) and parameters and parameters[0].kind <= inspect.Parameter.POSITIONAL_OR_KEYWORD:
        parameters = parameters[1:]  # self
    try:
        hints = typing.get_type_hints(init, include_extras=True)
    except Exception:  # unresolvable forward references: check keys only
        hints = {}
    kept = [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return Signature(
        tuple(
            Parameter(p.name, hints.get(p.name, Any), EMPTY if p.default is p.empty else p.default)
            for p in kept
        ),
        extra=any(p.kind is p.VAR_KEYWORD for p in parameters),
    )


def target_signature(target: str, key: str) -> Signature:
    """`target`'s signature, from its source where it tells, else from the imported object."""
    try:
        return static_signature(target)
    except Unreadable:
        pass
    try:
        obj = get_object(target)
    except Exception as exc:
        raise ConfigError(f"{key}._target_={target!r} cannot be imported: {exc}") from exc
    return live_signature(obj)


def _check_node(node: DictConfig, key: str) -> None:
    signature = target_signature(node._target_, key)
    fields = schema_fields(signature)
    hydra_fields = [(name, Any, dataclasses.field(default=None)) for name in HYDRA_KEYS]
    schema = dataclasses.make_dataclass(
        node._target_.rsplit(".", 1)[-1] + "Schema",
        hydra_fields + [(f.name, f.type, dataclasses.field(default=f.default)) for f in fields],
    )
    structured = OmegaConf.structured(schema)
    OmegaConf.set_struct(structured, not signature.extra)
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
    for field in fields:
        if field.check is not None and field.name in values and not field.check.accepts(merged[field.name]):
            error = ArgumentError(field.name, values[field.name], field.check.expected)
            raise ConfigError(f"invalid config value '{key}.{field.name}': {error}")


def validate_config(cfg: DictConfig) -> None:
    """Raise `ConfigError` naming the first bad key of `cfg`, including keys left as `???`, or a data
    config that cannot feed the model."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"missing required value(s): {missing}; set them on the command line")
    _walk(cfg, "")
    model, data = cfg.get("model"), cfg.get("data")
    if all(isinstance(node, DictConfig) and "_target_" in node for node in (model, data)):
        wanted = _class_attribute(model._target_, "data_kind")
        offered = _class_attribute(data._target_, "data_kinds")
        names = (target.rsplit(".", 1)[-1] for target in (model._target_, data._target_))
        _refuse_unfed(*names, wanted, offered, "data")


def _class_attribute(target: str, name: str) -> Any:
    try:
        return static_class_attribute(target, name)
    except Unreadable:
        return getattr(get_object(target), name, None)


def check_data_fits(model: type, datamodule: type, source: str) -> None:
    """Refuse a DataModule that cannot feed `model`: the model's `data_kind` must be among the DataModule's
    `data_kinds` (a class that declares neither is not checked); `source` names the config in the error."""
    wanted, offered = getattr(model, "data_kind", None), getattr(datamodule, "data_kinds", None)
    _refuse_unfed(model.__name__, datamodule.__name__, wanted, offered, source)


def _refuse_unfed(model: str, datamodule: str, wanted: Any, offered: Any, source: str) -> None:
    if wanted is not None and offered is not None and wanted not in offered:
        raise ConfigError(
            f"{source}: {model} trains on {wanted}, but {datamodule} provides "
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
