"""Compare a restored state with one this program writes: same keys, types, and tensor dtypes and shapes."""

from typing import Any

import torch

from flik_lab.utils.errors import InputError


def same_layout(value: Any, expected: Any, where: str) -> None:
    """Raise `InputError` naming the first place where `value` differs in layout from `expected`."""
    if torch.is_tensor(expected):
        if not torch.is_tensor(value) or value.dtype != expected.dtype or value.shape != expected.shape:
            shown = f"{value.dtype} {tuple(value.shape)}" if torch.is_tensor(value) else type(value).__name__
            raise InputError(f"{where}: {shown}, expected {expected.dtype} {tuple(expected.shape)}")
    elif isinstance(expected, dict):
        if not isinstance(value, dict) or value.keys() != expected.keys():
            raise InputError(f"{where}: expected the keys {sorted(expected)}")
        for key, child in expected.items():
            same_layout(value[key], child, f"{where}.{key}")
    elif isinstance(expected, list | tuple):
        if not isinstance(value, list | tuple) or len(value) != len(expected):
            raise InputError(f"{where}: expected {len(expected)} entries")
        for i, (item, child) in enumerate(zip(value, expected, strict=True)):
            same_layout(item, child, f"{where}[{i}]")
    elif expected is not None and type(value) is not type(expected):
        raise InputError(f"{where}: {type(value).__name__}, expected {type(expected).__name__}")
