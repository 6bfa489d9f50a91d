"""The real Hydra configs, composed as the commands compose them."""

from pathlib import Path

from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from flik_lab.utils.conf import CONF_MODULE


def compose_config(name: str, output_dir: Path, overrides: list[str] = ()) -> DictConfig:
    """The composed config `name` (train, eval, sample) writing into `output_dir`."""
    with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
        return compose(config_name=name, overrides=[*overrides, f"paths.output_dir={output_dir}"])
