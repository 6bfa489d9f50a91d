"""Constructor argument checks whose errors name the argument, so a config error can name its key."""

from flik_lab.utils.errors import InputError


class ArgumentError(InputError):
    """A constructor argument outside its range; `argument` is its name (`lr_g`)."""

    def __init__(self, argument: str, value: object, expected: str):
        super().__init__(f"{argument}={value!r}: expected {expected}")
        self.argument = argument


def require_positive(**values: float) -> None:
    """Raise `ArgumentError` for the first value that is not a positive number."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ArgumentError(name, value, "a positive number")


def require_fraction(**values: float) -> None:
    """Raise `ArgumentError` for the first value outside [0, 1)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise ArgumentError(name, value, "a number in [0, 1)")


def require_weight(**values: float) -> None:
    """Raise `ArgumentError` for the first value that is not a number of 0 or more (a loss weight)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise ArgumentError(name, value, "a weight of 0 or more")


def require_count(**values: int) -> None:
    """Raise `ArgumentError` for the first value that is not an integer of 1 or more."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ArgumentError(name, value, "an integer of 1 or more")


def require_choice(name: str, value: object, choices: tuple) -> None:
    if value not in choices:
        raise ArgumentError(name, value, f"one of {', '.join(map(str, choices))}")
