"""Where the Hydra configs live: the package `flik_lab.conf` (conf/ of the checkout, see pyproject.toml)."""

from importlib import resources

CONF_MODULE = "flik_lab.conf"
CONF_PATH = f"pkg://{CONF_MODULE}"  # `hydra.main(config_path=...)`; the same files in a checkout and a wheel


def conf_files(group: str) -> list:
    """The YAML files (importlib `Traversable`s) of one config group, e.g. `model`, sorted by name."""
    folder = resources.files(CONF_MODULE) / group
    return sorted((p for p in folder.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
