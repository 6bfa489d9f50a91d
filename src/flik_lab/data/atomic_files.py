"""Cache files written whole or not at all: a killed run never leaves a half-written file behind."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """`write(file)` into a temporary file next to `path`, then rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as file:
            write(file)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
