"""Packages that look uninstalled to a `flik-lab` subprocess (tests/helpers/absent/sitecustomize.py)."""

from pathlib import Path

ABSENT = Path(__file__).resolve().parent / "absent"


def without(*modules: str) -> dict[str, str]:
    """Environment for `run_flik_lab(..., env=without("optuna"))`: `modules` and their submodules cannot be
    imported, and Hydra's plugin scan skips them."""
    return {"PYTHONPATH": str(ABSENT), "FLIK_LAB_TEST_ABSENT": ",".join(modules)}
