"""The package list: every package under src/, plus conf/ as `flik_lab.conf` (mapped in pyproject.toml) and
flik-lab's Hydra plugins in the `hydra_plugins` namespace package, where Hydra looks for them."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("src"), "hydra_plugins.flik_lab_launchers", "flik_lab.conf"])
