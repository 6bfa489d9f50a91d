"""The commands: one module each under flik_lab.commands, and nothing patched or registered at import time."""

import importlib
import subprocess
import sys

import pytest

from flik_lab.cli import COMMANDS

# imports every flik_lab module, then checks Lightning's DDP launcher and Hydra's ConfigStore are untouched
IMPORT_ALL = """
import pkgutil, importlib
from hydra.core.config_store import ConfigStore
from lightning.pytorch.strategies.launchers import subprocess_script
before = subprocess_script._hydra_subprocess_cmd
import flik_lab
for module in pkgutil.walk_packages(flik_lab.__path__, "flik_lab."):
    importlib.import_module(module.name)
assert subprocess_script._hydra_subprocess_cmd is before, "a module patched Lightning's launcher"
assert not [name for name in ConfigStore.instance().repo if "schema" in name], "a module registered schemas"
"""


def test_every_command_is_a_module_of_flik_lab_commands():
    for name, (module, _) in COMMANDS.items():
        assert module == f"flik_lab.commands.{name.replace(' ', '_')}"
        assert callable(importlib.import_module(module).main)


@pytest.mark.multiprocess
def test_importing_any_module_patches_and_registers_nothing():
    result = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
