"""Build Lightning objects from config groups: callbacks and loggers are dicts of `_target_` nodes."""

from typing import Any

import hydra
from omegaconf import DictConfig


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate each `_target_` node of a `callbacks:` or `logger:` group, in order."""
    if not group:
        return []
    return [hydra.utils.instantiate(node) for node in group.values() if node and "_target_" in node]
