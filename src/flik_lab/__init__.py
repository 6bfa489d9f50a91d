"""flik-lab: Lightning + Hydra experiments for the "GAN and RNN" course exercises."""

from importlib.metadata import version

__version__ = version("flik-lab")  # pyproject.toml holds the one version string
