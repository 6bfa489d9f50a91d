"""The package list: every package under src/, plus conf/ as `flik_lab.conf` (mapped in pyproject.toml)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("src"), "flik_lab.conf"])
