"""What every Hydra command shares: its app on `pkg://flik_lab.conf`, a validated config, finished W&B runs,
and outputs that are never overwritten."""

from collections.abc import Callable, Iterable
from pathlib import Path

import hydra
from omegaconf import DictConfig

from flik_lab.utils.conf import CONF_PATH
from flik_lab.utils.config_schema import validate_config
from flik_lab.utils.finish import finished_runs
from flik_lab.utils.train_schema import register_schemas


def run_command(config_name: str, body: Callable[[DictConfig], object]) -> None:
    """Run `body(cfg)` as the Hydra app of `conf/<config_name>.yaml`: a typo or a wrong type fails before
    anything is built, and the job's W&B run is finished, also when `body` raises."""
    register_schemas()

    def task(cfg: DictConfig) -> None:
        validate_config(cfg)
        with finished_runs():
            body(cfg)

    task.__module__ = f"flik_lab.commands.{config_name}"  # Hydra names the job after it (`hydra.job.name`)
    hydra.main(version_base="1.3", config_path=CONF_PATH, config_name=config_name)(task)()


def in_run_dir(cfg: DictConfig, path: str) -> Path:
    """`path` itself when absolute, else inside the run's directory."""
    return Path(path) if Path(path).is_absolute() else Path(cfg.paths.output_dir) / path


def print_written(paths: Iterable[Path]) -> None:
    """One `flik-lab: wrote <path>` line per output file."""
    for path in paths:
        print(f"flik-lab: wrote {path}")


def refuse_to_overwrite(*paths: Path, hint: str = "") -> None:
    """Raise `FileExistsError` naming the paths that exist already; `hint` says what to do instead."""
    existing = ", ".join(str(path) for path in paths if path.exists())
    if existing:
        raise FileExistsError(f"refusing to overwrite {existing}" + (f"; {hint}" if hint else ""))
