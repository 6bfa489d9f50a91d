"""A `_target_`'s parameters and class attributes read from its source, without importing it: the same
annotations and defaults `inspect.signature` would give, where the source can tell (else `Unreadable`)."""

import ast
import dataclasses
import sys
import typing
from collections.abc import Iterator
from typing import Any

from flik_lab.utils import arguments
from flik_lab.utils.static_modules import (
    Definition,
    Module,
    Reach,
    Unreadable,
    bindings,
    locate,
    qualified_name,
    resolve,
)

EMPTY = object()  # a parameter without a default
UNKNOWN = object()  # a default the source computes: any value, not required
# decorators that keep the signature of what they decorate (functools.wraps)
TRANSPARENT_DECORATORS = frozenset({"lightning.pytorch.utilities.argparse._defaults_from_env_vars"})
_MAX_DEPTH = 20  # aliases of aliases


@dataclasses.dataclass(frozen=True)
class Parameter:
    """A parameter Hydra can pass by name: `annotation` is a typing object (Any when unknown)."""

    name: str
    annotation: Any
    default: Any = EMPTY


@dataclasses.dataclass(frozen=True)
class Signature:
    """The parameters of a class's `__init__` (without `self`) or of a function; `extra`: `**kwargs`."""

    parameters: tuple[Parameter, ...]
    extra: bool


def static_signature(target: str) -> Signature:
    """The signature of the class or function `target` names (a dotted path), read from its source."""
    found = locate(target)
    if not isinstance(found, Definition) or isinstance(found.node, ast.expr):
        raise Unreadable(f"{target} is not a class or function of a source file")
    if isinstance(found.node, ast.ClassDef):
        init = _class_attribute(found, "__init__")
        if init is object:
            return Signature((), extra=True)  # object.__init__: (self, /, *args, **kwargs)
        if not (
            isinstance(init, Definition) and isinstance(init.node, ast.FunctionDef | ast.AsyncFunctionDef)
        ):
            raise Unreadable(f"{target}.__init__ is not a plain function")
        return _function_signature(init, method=True)
    return _function_signature(found, method=False)


def static_class_attribute(target: str, name: str) -> Any:
    """The literal value of the class attribute `name` of the class `target` (as `getattr` would find it
    along the MRO); None where no class defines it."""
    found = locate(target)
    if not (isinstance(found, Definition) and isinstance(found.node, ast.ClassDef)):
        raise Unreadable(f"{target} is not a class of a source file")
    value = _class_attribute(found, name)
    if isinstance(value, Definition) and isinstance(value.node, ast.expr):
        try:
            return ast.literal_eval(value.node)
        except ValueError as exc:
            raise Unreadable(f"{target}.{name} is computed") from exc
    if isinstance(value, Definition):
        raise Unreadable(f"{target}.{name} is not a literal")
    return None if value is object else value


def _class_attribute(cls: Definition, name: str) -> Any:
    """The first binding of `name` along `cls`'s MRO: a `Definition` (a def, or an assigned expression)
    or a live value; `object` for `object.__init__`; None if no class binds it."""
    for owner in _mro(cls):
        if isinstance(owner, Definition):
            if owner.node.decorator_list:
                raise Unreadable(f"{qualified_name(owner)} is decorated: its attributes may change")
            hits = [b for b in bindings(tuple(owner.node.body)) if b.name == name]
            if hits:
                stmt = hits[-1].stmt
                if hits[-1].conditional or isinstance(stmt, ast.Import | ast.ImportFrom):
                    raise Unreadable(f"{qualified_name(owner)}.{name} is bound conditionally")
                node = (
                    stmt
                    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    else stmt.value
                )
                return Definition(owner.module, node)
        elif owner is object:
            return object if name == "__init__" else None
        elif name in vars(owner):
            if name == "__init__":
                raise Unreadable(f"{qualified_name(owner)}.__init__ is compiled")
            return vars(owner)[name]
    return None


def _mro(cls: Any) -> Iterator[Any]:
    """`cls.__mro__`, computed as lazily as single inheritance allows (C3 beyond)."""
    if not isinstance(cls, Definition):
        yield from cls.__mro__
        return
    yield cls
    bases = [_base(cls.module, base) for base in cls.node.bases]
    if len(bases) <= 1:
        yield from _mro(bases[0]) if bases else [object]
    else:
        yield from _c3([list(_mro(base)) for base in bases] + [bases])


def _base(module: Module, expr: ast.expr) -> Any:
    if isinstance(expr, ast.Subscript):  # Generic[T], Sampler[int]
        expr = expr.value
    found = resolve(module, expr)
    if isinstance(found, Definition) and isinstance(found.node, ast.ClassDef) or isinstance(found, type):
        return found
    raise Unreadable(f"{module.name}: the base {ast.unparse(expr)} is not a class of a source file")


def _c3(sequences: list[list]) -> list:
    merged: list = []
    sequences = [list(s) for s in sequences if s]
    while sequences:
        head = next((s[0] for s in sequences if not any(s[0] in rest[1:] for rest in sequences)), None)
        if head is None:
            raise Unreadable("no consistent method resolution order")
        merged.append(head)
        sequences = [s[1:] if s[0] == head else s for s in sequences]
        sequences = [s for s in sequences if s]
    return merged


def _function_signature(function: Definition, method: bool) -> Signature:
    node = function.node
    for decorator in node.decorator_list:
        if qualified_name(resolve(function.module, decorator)) not in TRANSPARENT_DECORATORS:
            raise Unreadable(f"{qualified_name(function)} has a decorator that may change its signature")
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pairs = list(zip(positional, defaults, strict=True)) + list(
        zip(args.kwonlyargs, args.kw_defaults, strict=True)
    )
    if method and positional:
        pairs = pairs[1:]  # self
    parameters = tuple(
        Parameter(arg.arg, annotation_object(function.module, arg.annotation), _default(default))
        for arg, default in pairs
    )
    return Signature(parameters, extra=args.kwarg is not None)


def _default(expr: ast.expr | None) -> Any:
    if expr is None:
        return EMPTY
    try:
        return ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNKNOWN


def annotation_object(module: Module, expr: ast.expr | None) -> Any:
    """The typing object an annotation of `module` evaluates to, as far as `_field_type` and
    `declared_check` look into it; `Any` for the rest: classes, unions of two types or more, generics
    other than `Optional`, `Annotated` and `Literal`, and names from other top-level packages (but
    flik-lab's), which are not followed."""
    reach = Reach(within=frozenset({module.name.split(".")[0], "flik_lab"}))
    return _annotation(module, expr, reach, 0)


def _annotation(module: Module, expr: ast.expr | None, reach: Reach, depth: int) -> Any:
    if expr is None or depth > _MAX_DEPTH:
        return Any
    try:
        return _evaluate(module, expr, reach, depth + 1)
    except (Unreadable, TypeError, ValueError, SyntaxError, AttributeError):
        return Any


def _evaluate(module: Module, expr: ast.expr, reach: Reach, depth: int) -> Any:
    if isinstance(expr, ast.Constant):
        if isinstance(expr.value, str):  # a forward reference
            return _annotation(module, ast.parse(expr.value, mode="eval").body, reach, depth)
        return expr.value
    if isinstance(expr, ast.Name | ast.Attribute):
        found = resolve(module, expr, reach)
        if isinstance(found, Definition) and isinstance(found.node, ast.expr):  # `Loss = Literal[...]`
            return _annotation(found.module, found.node, reach, depth)
        return Any if isinstance(found, Definition | Module) else found  # a class: not checkable
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        return _union(module, _operands(expr), reach, depth)
    if not isinstance(expr, ast.Subscript):
        return Any
    origin = _annotation(module, expr.value, reach, depth)
    items = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
    if _is_special(origin, "Union"):
        return _union(module, items, reach, depth)
    if _is_special(origin, "Optional"):
        return _union(module, [*items, ast.Constant(None)], reach, depth)
    if _is_special(origin, "Literal"):
        args = tuple(ast.literal_eval(item) for item in items)
    elif _is_special(origin, "Annotated"):
        metadata = (_metadata(module, item, reach) for item in items[1:])
        args = (_annotation(module, items[0], reach, depth), *metadata)
    elif typing.get_origin(origin) in (typing.Annotated, typing.Union):  # a generic alias: Positive[int]
        args = tuple(_annotation(module, item, reach, depth) for item in items)
    else:  # list[int], Sequence[str]: not checkable, whatever the arguments
        return Any
    return origin[args if len(args) > 1 else args[0]]


def _operands(expr: ast.expr) -> list[ast.expr]:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
        return _operands(expr.left) + _operands(expr.right)
    return [expr]


def _union(module: Module, members: list[ast.expr], reach: Reach, depth: int) -> Any:
    """`Optional[X]` or `X`; Any for two types or more, without reading them (a union of two names that
    stand for one type, which `Union` would merge, is read as Any: unchecked, never refused)."""
    types_ = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    if len(types_) != 1:
        return Any
    inner = _annotation(module, types_[0], reach, depth)
    return typing.Optional[inner] if len(types_) < len(members) else inner  # noqa: UP045


def _is_special(origin: Any, name: str) -> bool:
    """Whether `origin` is `typing.<name>` (or typing_extensions', which a live lookup has imported)."""
    modules = (sys.modules[m] for m in ("typing", "typing_extensions") if m in sys.modules)
    return any(origin is getattr(module, name, object()) for module in modules)


def _metadata(module: Module, expr: ast.expr, reach: Reach) -> Any:
    """A declared range of `Annotated[type, ...]`: `POSITIVE`, `at_least(5)`; None for other metadata."""
    try:
        if isinstance(expr, ast.Call):
            function = resolve(module, expr.func, reach)
            if function not in (arguments.at_least, arguments.Range):
                return None
            args = [ast.literal_eval(a) for a in expr.args]
            return function(*args, **{k.arg: ast.literal_eval(k.value) for k in expr.keywords})
        found = resolve(module, expr, reach)
        if isinstance(found, Definition) and isinstance(found.node, ast.Call):  # `POOL_SIZE = Range(...)`
            return _metadata(found.module, found.node, reach)
    except (Unreadable, ValueError, TypeError):
        return None
    return found if isinstance(found, arguments.Range) else None
