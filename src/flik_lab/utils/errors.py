"""The one error path: what counts as a user's mistake, and the single line that reports it."""

from hydra.errors import InstantiationException

USER_ERROR_EXIT_CODE = 2


class InputError(ValueError):
    """Bad input from outside the program (a config value, a file, a checkpoint), named in the message."""


# raised by flik-lab's own checks of paths a user gave; a ValueError elsewhere in the stack is a bug
FILE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def user_error(exc: BaseException) -> BaseException | None:
    """The user error `exc` reports (unwrapping Hydra's instantiation wrapper; an optional dependency that
    is not installed names its extra), or None for a bug."""
    from flik_lab.utils.extras import missing_extra  # extras.py builds on InputError

    if isinstance(exc, InstantiationException) and exc.__cause__ is not None:
        exc = exc.__cause__
    return exc if isinstance(exc, (InputError, *FILE_ERRORS)) else missing_extra(exc)


# the lines OmegaConf appends to its messages: the key is already named in the message itself
_OMEGACONF_DETAIL = ("full_key:", "object_type=", "reference_type=")


def one_line(exc: BaseException) -> str:
    """`exc`'s message on one line (a multi-line message joined with "; ", without OmegaConf's detail
    lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(_OMEGACONF_DETAIL)]
    return "; ".join(lines) or type(exc).__name__
