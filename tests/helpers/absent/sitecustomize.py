"""Imported at start-up when this folder is on PYTHONPATH: the packages named in FLIK_LAB_TEST_ABSENT
(comma-separated) and their submodules fail to import, and Hydra's plugin scan skips them, as if they were
not installed (a None in `sys.modules` is Python's own way to refuse an import)."""

import os
import sys

for name in filter(None, os.environ.get("FLIK_LAB_TEST_ABSENT", "").split(",")):
    sys.modules[name] = None
