"""How many examples a held-out split takes: a count, or a fraction of what there is."""

from flik_lab.utils.errors import InputError

MAX_HELD_OUT = 0.5  # more than this would leave less to train on than to hold out: surely a mistake


def held_out(value: float, total: int, key: str, what: str = "training examples") -> int:
    """`value` examples of `total` (a count >= 1), or `round(value * total)` for a fraction in (0, 1).

    Raises a `ValueError` naming `key` for a negative or fractional count, and for a split that would hold
    out more than half of the examples (`data.val_size=2500` of a 3,000-review corpus).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(f"{key}={value!r}: expected a count (e.g. 500) or a fraction in (0, 1) (e.g. 0.1)")
    if 0 < value < 1:
        count = round(value * total)
    elif float(value).is_integer():
        count = int(value)
    else:
        raise InputError(f"{key}={value}: a count must be whole; a fraction must lie in (0, 1)")
    if count > MAX_HELD_OUT * total:
        raise InputError(
            f"{key}={value} holds out {count} of the {total} {what} ({count / total:.0%}); "
            f"give a fraction (e.g. {key}=0.1) or a smaller count"
        )
    return count
