"""Build objects from config nodes; a constructor's range error names the config key it came from."""

from typing import Any

import hydra
from hydra.errors import InstantiationException
from lightning.fabric.utilities.exceptions import MisconfigurationException
from omegaconf import DictConfig

from flik_lab.utils.arguments import ArgumentError
from flik_lab.utils.config_schema import ConfigError


def instantiate_node(node: DictConfig, key: str, **kwargs: Any) -> Any:
    """`hydra.utils.instantiate(node)`; an `ArgumentError` inside it becomes a `ConfigError` naming
    `key.argument`, and Lightning's refusal of a setting (`trainer=gpu` without a GPU) one naming `key`."""
    try:
        return hydra.utils.instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause = exc.__cause__
        if isinstance(cause, ArgumentError):
            raise ConfigError(f"invalid config value '{key}.{cause.argument}': {cause}") from cause
        if isinstance(cause, MisconfigurationException):
            raise ConfigError(f"invalid config '{key}' ({node._target_}): {cause}") from cause
        raise


def instantiate_group(group: DictConfig | None, key: str = "callbacks") -> list[Any]:
    """Instantiate each `_target_` node of a `callbacks:` or `logger:` group, in order."""
    if not group:
        return []
    return [
        instantiate_node(node, f"{key}.{name}") for name, node in group.items() if node and "_target_" in node
    ]
