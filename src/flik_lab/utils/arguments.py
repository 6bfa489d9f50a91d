"""Constructor argument checks whose errors name the argument, so a config error can name its key.

A constructor declares an argument's range in its annotation (`lr: Positive[float]`, `n: Count`,
`loss: Literal["a", "b"]`) and calls `check_declared(Cls.__init__, locals())`; `validate_config` reads the
same annotations from the source, so a value out of range fails before anything is imported.
"""

import dataclasses
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from flik_lab.utils.errors import InputError


class ArgumentError(InputError):
    """A constructor argument outside its range; `argument` is its name (`lr_g`)."""

    def __init__(self, argument: str, value: object, expected: str):
        super().__init__(f"{argument}={value!r}: expected {expected}")
        self.argument = argument


class _Check:
    """A declared range or choice; `check` raises `ArgumentError` for a value it does not accept."""

    expected: str

    def accepts(self, value: object) -> bool:
        raise NotImplementedError

    def check(self, name: str, value: object) -> None:
        if not self.accepts(value):
            raise ArgumentError(name, value, self.expected)


@dataclasses.dataclass(frozen=True)
class Range(_Check):
    """Numbers from `minimum` (excluded if `exclusive`) up to `below` (excluded) or `maximum`; integers
    only if `integer`; `expected` says so in an error."""

    minimum: float
    expected: str
    exclusive: bool = False
    below: float | None = None
    integer: bool = False
    maximum: float | None = None

    def accepts(self, value: object) -> bool:
        kinds = int if self.integer else int | float
        if isinstance(value, bool) or not isinstance(value, kinds):
            return False
        above = value > self.minimum if self.exclusive else value >= self.minimum
        under = (self.below is None or value < self.below) and (self.maximum is None or value <= self.maximum)
        return above and under


@dataclasses.dataclass(frozen=True)
class Choice(_Check):
    """One of the values of a `Literal[...]` annotation."""

    choices: tuple

    @property
    def expected(self) -> str:
        return f"one of {', '.join(map(str, self.choices))}"

    def accepts(self, value: object) -> bool:
        return value in self.choices


@dataclasses.dataclass(frozen=True)
class OrNone(_Check):
    """`check`, or None (an `Optional[...]` annotation)."""

    inner: Range | Choice

    @property
    def expected(self) -> str:
        return self.inner.expected

    def accepts(self, value: object) -> bool:
        return value is None or self.inner.accepts(value)


Check = Range | Choice | OrNone


def at_least(minimum: int) -> Range:
    """Integers of `minimum` or more."""
    return Range(minimum, f"an integer of {minimum} or more", integer=True)


POSITIVE = Range(0, "a positive number", exclusive=True)
FRACTION = Range(0, "a number in [0, 1)", below=1)
WEIGHT = Range(0, "a weight of 0 or more")
COUNT = at_least(1)

_Number = TypeVar("_Number", int, float)
Positive = Annotated[_Number, POSITIVE]  # `Positive[int]`, `Positive[float]`
Fraction = Annotated[float, FRACTION]
Weight = Annotated[float, WEIGHT]  # a loss weight
Count = Annotated[int, COUNT]


def declared_check(annotation: Any) -> Check | None:
    """The range or choice an annotation declares: `Annotated[..., Range]`, `Literal[...]`, either of them
    `Optional`; None for any other annotation."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return next((m for m in args[1:] if isinstance(m, Range)), None) or declared_check(args[0])
    if origin is Literal:
        return Choice(args)
    if origin in (typing.Union, types.UnionType) and type(None) in args and len(args) == 2:
        inner = declared_check(next(a for a in args if a is not type(None)))
        return OrNone(inner) if isinstance(inner, Range | Choice) else inner
    return None


@functools.cache
def _declared_checks(init: Callable) -> dict[str, Check]:
    try:
        hints = typing.get_type_hints(init, include_extras=True)
    except Exception:  # a forward reference that cannot be resolved: the annotations that are objects
        hints = {k: v for k, v in getattr(init, "__annotations__", {}).items() if not isinstance(v, str)}
    return {name: check for name, hint in hints.items() if (check := declared_check(hint)) is not None}


def check_declared(init: Callable, arguments: Mapping[str, object]) -> None:
    """Raise `ArgumentError` for the first of `arguments` (a constructor's `locals()`) outside the range or
    choices its annotation in `init` declares."""
    for name, check in _declared_checks(init).items():
        if name in arguments:
            check.check(name, arguments[name])


def require_positive(**values: float) -> None:
    """Raise `ArgumentError` for the first value that is not a positive number."""
    for name, value in values.items():
        POSITIVE.check(name, value)


def require_choice(name: str, value: object, choices: tuple) -> None:
    """Raise `ArgumentError` unless `value` is one of `choices`."""
    Choice(tuple(choices)).check(name, value)
