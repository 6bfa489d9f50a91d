"""Where a dotted name is defined, read from source files without importing them: the top-level package is
found by its spec, submodules by their files, names through imports, re-exports and star imports."""

import ast
import builtins
import dataclasses
import functools
import importlib
import importlib.machinery
import importlib.util
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

# modules whose objects stand for themselves: typing constructs and the declared ranges of arguments.py
LIVE_MODULES = frozenset(
    {"builtins", "types", "typing", "typing_extensions", "abc", "flik_lab.utils.arguments"}
)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class Unreadable(Exception):
    """The source cannot tell: a compiled module, a name bound conditionally or computed, a missing name."""


class Missing(Unreadable):
    """No such module."""


@dataclasses.dataclass(frozen=True)
class Module:
    """A module's source: `path` is None for a namespace package; `search` holds a package's folders."""

    name: str
    path: Path | None
    search: tuple[str, ...] = ()

    @property
    def body(self) -> list[ast.stmt]:
        return [] if self.path is None else _parse(self.path).body


@dataclasses.dataclass(frozen=True)
class Definition:
    """A module-level class, function or assigned expression (`Loss = Literal[...]`) of `module`."""

    module: Module
    node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.expr

    @property
    def name(self) -> str:
        return getattr(self.node, "name", "")


Found = Module | Definition | object  # an object only from LIVE_MODULES (or builtins)


@functools.cache
def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError) as exc:
        raise Unreadable(f"{path}: {exc}") from exc


def _source_module(spec: importlib.machinery.ModuleSpec) -> Module:
    origin = spec.origin if spec.has_location else None
    if origin is None and spec.submodule_search_locations is None:
        raise Unreadable(f"{spec.name} has no source file")
    if origin is not None and not origin.endswith(".py"):
        raise Unreadable(f"{spec.name} is not a Python source file ({origin})")
    path = None if origin is None else Path(origin)
    return Module(spec.name, path, tuple(spec.submodule_search_locations or ()))


@functools.cache
def find_module(name: str) -> Module | types.ModuleType:
    """The module `name` (dotted): its top-level package found by its spec (not imported), the rest by
    the path finder in the folders of each package."""
    if name in LIVE_MODULES:
        return importlib.import_module(name)
    top, *rest = name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError) as exc:
        raise Unreadable(f"{top}: {exc}") from exc
    if spec is None:
        raise Missing(f"no module named {top!r}")
    module = _source_module(spec)
    for part in rest:
        module = _submodule(module, part)
        if module is None:
            raise Missing(f"no module named {name!r}")
    return module


@functools.cache
def _submodule(package: Module, part: str) -> Module | None:
    """`package.part` as the import system would find it (without importing it), or None."""
    if not package.search:
        return None
    try:
        spec = importlib.machinery.PathFinder.find_spec(f"{package.name}.{part}", list(package.search))
    except (ImportError, ValueError) as exc:
        raise Unreadable(f"{package.name}.{part}: {exc}") from exc
    return None if spec is None else _source_module(spec)


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    package = package if module.search else package[:-1]  # a package's own name, else its parent's
    base = package[: len(package) - node.level + 1]
    if not base or node.level > len(package):
        raise Unreadable(f"{module.name}: relative import beyond the top-level package")
    return ".".join(base + ([node.module] if node.module else []))


class Binding(NamedTuple):
    """A name bound by a statement of a body: `*` for a star import; `conditional` when the statement is
    inside an `if`, `try`, loop or `with`, or is not an import, a def or an assignment of one name."""

    name: str
    stmt: ast.AST  # the statement, or the node inside one that binds the name conditionally
    alias: ast.alias | None = None
    conditional: bool = False


@functools.cache
def bindings(body: tuple[ast.stmt, ...]) -> tuple[Binding, ...]:
    """The names the statements of a module's or class's body bind, in order."""
    out: list[Binding] = []
    for stmt in body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            out += [Binding(alias.asname or alias.name.split(".")[0], stmt, alias) for alias in stmt.names]
        elif isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            out.append(Binding(stmt.name, stmt))
        elif (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
        ):
            out.append(Binding(stmt.targets[0].id, stmt))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            out.append(Binding(stmt.target.id, stmt))
        else:
            out += [Binding(name, node, alias, True) for name, node, alias in _bound_names(stmt)]
    return tuple(out)


@functools.cache
def module_bindings(module: Module) -> tuple[Binding, ...]:
    return bindings(tuple(module.body))


def _bound_names(node: ast.AST) -> Iterator[tuple[str, ast.AST, ast.alias | None]]:
    """Every name a statement binds, not looking into nested functions or classes."""
    if isinstance(node, _SCOPES):
        yield from [] if isinstance(node, ast.Lambda) else [(node.name, node, None)]
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
        yield node.id, node, None
    elif isinstance(node, ast.Import | ast.ImportFrom):
        yield from ((alias.asname or alias.name.split(".")[0], node, alias) for alias in node.names)
    elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
        yield node.name, node, None
    elif isinstance(node, ast.MatchMapping) and node.rest:
        yield node.rest, node, None
    for child in ast.iter_child_nodes(node):
        yield from _bound_names(child)


@dataclasses.dataclass(frozen=True)
class Reach:
    """How far a lookup follows imports: into the top-level packages `within` (None: any) and LIVE_MODULES;
    `seen` holds the names being looked up, against cycles."""

    within: frozenset[str] | None = None
    seen: frozenset = frozenset()

    def visit(self, key: tuple) -> "Reach":
        if key in self.seen:
            raise Unreadable(f"{key} refers to itself")
        return dataclasses.replace(self, seen=self.seen | {key})

    def enter(self, name: str) -> Module | types.ModuleType:
        if self.within is not None and name not in LIVE_MODULES and name.split(".")[0] not in self.within:
            raise Unreadable(f"{name} is outside {sorted(self.within)}")
        return find_module(name)


def lookup(module: Module | types.ModuleType, name: str, reach: Reach = Reach()) -> Found | None:
    """What `getattr(module, name)` would give once `module` is imported, else its submodule `name`;
    None if neither exists. Raises `Unreadable` where the source cannot tell."""
    if isinstance(module, types.ModuleType):
        return getattr(module, name, None)
    reach = reach.visit((module.name, name))
    for binding in reversed(module_bindings(module)):
        if binding.name == "*":
            source = _star_source(module, binding, reach)
            if source is not None and name in exports(source, reach):
                if binding.conditional:
                    raise Unreadable(f"{module.name}: {name} may come from a conditional star import")
                return lookup(source, name, reach)
        elif binding.name == name:
            if binding.conditional:
                raise Unreadable(f"{module.name}.{name} is bound conditionally or computed")
            return _bound_value(module, binding.stmt, binding.alias, reach)
    found = _submodule(module, name)
    if found is None and any(binding.name == "__getattr__" for binding in module_bindings(module)):
        raise Unreadable(f"{module.name} computes its attributes (__getattr__)")
    return found


def _star_source(module: Module, binding: Binding, reach: Reach) -> Module | types.ModuleType | None:
    """The module a star import reads; None for a conditional one of a module that does not exist."""
    try:
        return reach.enter(_absolute(module, binding.stmt))
    except Missing:
        if binding.conditional:  # guarded by its condition (`if os.path.isfile(...)`, `try`)
            return None
        raise


def exports(module: Module | types.ModuleType, reach: Reach = Reach()) -> frozenset[str]:
    """The names `from module import *` binds."""
    if isinstance(module, types.ModuleType):
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        return frozenset(names)
    reach = reach.visit((module.name, "*"))
    entries = module_bindings(module)
    declared = [binding for binding in entries if binding.name == "__all__"]
    if declared:
        try:
            if len(declared) > 1 or declared[0].conditional:
                raise ValueError("__all__ changes")
            return frozenset(ast.literal_eval(declared[0].stmt.value))
        except ValueError as exc:
            raise Unreadable(f"{module.name}: __all__ is computed") from exc
    names = {b.name for b in entries if b.name != "*" and not b.name.startswith("_")}
    for binding in entries:
        source = _star_source(module, binding, reach) if binding.name == "*" else None
        if source is not None:
            names |= exports(source, reach)
    return frozenset(names)


def _bound_value(module: Module, stmt: ast.stmt, alias: ast.alias | None, reach: Reach) -> Found:
    if isinstance(stmt, ast.Import):
        return reach.enter(alias.name if alias.asname else alias.name.split(".")[0])
    if isinstance(stmt, ast.ImportFrom):
        source_name = _absolute(module, stmt)
        if source_name == module.name:  # `from . import x` in a package's __init__: its submodule
            found = _submodule(module, alias.name)
        else:
            found = lookup(reach.enter(source_name), alias.name, reach)
        if found is None:
            raise Unreadable(f"{module.name}: cannot find {alias.name} in {source_name}")
        return found
    if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return Definition(module, stmt)
    value = stmt.value
    if isinstance(value, ast.Name | ast.Attribute):  # an alias of another name
        return resolve(module, value, reach)
    return Definition(module, value)


def resolve(module: Module, expr: ast.expr, reach: Reach = Reach()) -> Found:
    """The object a name or dotted name (`nn.Module`) of `module`'s global scope stands for."""
    if isinstance(expr, ast.Name):
        found = lookup(module, expr.id, reach)
        if found is None:
            found = getattr(builtins, expr.id, None)
        if found is None:
            raise Unreadable(f"{module.name}: {expr.id} is not defined")
        return found
    if isinstance(expr, ast.Attribute):
        base = resolve(module, expr.value, reach)
        if isinstance(base, Module | types.ModuleType):
            found = lookup(base, expr.attr, reach)
            if found is not None:
                return found
        elif not isinstance(base, Definition) and hasattr(base, expr.attr):
            return getattr(base, expr.attr)
    raise Unreadable(f"{module.name}: {ast.unparse(expr)} is not a module-level name")


def locate(path: str) -> Found:
    """What `hydra.utils.get_object(path)` would return, read from the source."""
    parts = path.split(".")
    if not all(parts):
        raise Unreadable(f"{path!r} is not a dotted path")
    found: Found = find_module(parts[0])
    for part in parts[1:]:
        if not isinstance(found, Module | types.ModuleType):
            raise Unreadable(f"{path}: {part} is an attribute of a class or value")
        found = lookup(found, part)
        if found is None:
            raise Unreadable(f"{path}: no {part}")
    return found


def qualified_name(found: Any) -> str:
    """`module.name` of a definition or of a live object."""
    if isinstance(found, Definition):
        return f"{found.module.name}.{found.name}"
    if isinstance(found, Module | types.ModuleType):
        return found.name if isinstance(found, Module) else found.__name__
    return f"{getattr(found, '__module__', '')}.{getattr(found, '__qualname__', '')}"
