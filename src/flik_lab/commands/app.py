"""What every Hydra command shares: its app on `pkg://flik_lab.conf`, a validated config, finished W&B runs,
and outputs that are never overwritten."""

import importlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.plugins import Plugins
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from flik_lab.utils.checkpoint_file import check_checkpoint_files
from flik_lab.utils.conf import CONF_PATH
from flik_lab.utils.config_schema import validate_config
from flik_lab.utils.errors import USER_ERROR_EXIT_CODE, one_line, user_error
from flik_lab.utils.extras import missing_extra
from flik_lab.utils.finish import finished_runs
from flik_lab.utils.job_logging import lightning_logs_through_hydra
from flik_lab.utils.public_configs import register_public_configs
from flik_lab.utils.quiet_warnings import ignore_known_warnings
from flik_lab.utils.sweep_sigterm import job_body, received
from flik_lab.utils.train_schema import register_schemas


def run_command(
    config_name: str, body: Callable[[DictConfig], object], after_dashes: str | None = None
) -> None:
    """Run `body(cfg)` as the Hydra app of `conf/<config_name>.yaml`: a typo or a wrong type fails before
    anything is built, and the job's W&B run is finished, also when `body` raises. With `after_dashes`,
    the words after `--` on the command line are appended to that list key (tune's train overrides)."""
    register_schemas()
    register_launchers()
    register_public_configs()  # configs named `_...` are never offered
    dashes = sys.argv.index("--") if after_dashes and "--" in sys.argv else len(sys.argv)
    sys.argv, extra = sys.argv[:dashes], sys.argv[dashes + 1 :]
    wants_traceback = full_error()

    def task(cfg: DictConfig) -> None:
        restore_full_error(wants_traceback)  # the job and the processes it starts see the user's setting
        if after_dashes:
            cfg[after_dashes].extend(extra)
        if cfg.extras.ignore_warnings:
            ignore_known_warnings()
        run_dir = Path(cfg.paths.output_dir)
        fresh = not written_by_a_run(run_dir)  # a resumed run's directory is never removed
        with job_body():  # from here SIGTERM stops the job, also outside a Trainer's fit
            if received():  # SIGTERM stopped the sweep before this job: it does not start
                if fresh:
                    remove_run(run_dir)
                return
            try:
                validate_config(cfg)
                check_checkpoint_files(cfg)
                lightning_logs_through_hydra()
                with finished_runs():
                    body(cfg)
            except Exception as exc:
                report_job_error(exc, run_dir if fresh else None, wants_traceback)

    task.__module__ = f"flik_lab.commands.{config_name}"  # Hydra names the job after it (`hydra.job.name`)
    run_app(config_name, task, wants_traceback)


def report_job_error(exc: Exception, fresh_run: Path | None, wants_traceback: bool) -> None:
    """End a job that raised `exc`: a user error in one line (exit 2, `fresh_run` removed), a divergence in
    one line (exit 1, the run kept); a bug, a sweep's job or HYDRA_FULL_ERROR=1 re-raises it."""
    error = user_error(exc)
    if HydraConfig.get().mode == RunMode.MULTIRUN or wants_traceback:
        raise exc  # a sweep records the failed job and goes on
    if isinstance(exc, FloatingPointError):  # the divergence rule: the run keeps what it wrote
        print(f"flik-lab: run diverged: {one_line(exc)}", file=sys.stderr)
        sys.exit(1)
    if error is None:
        raise exc  # a bug shows its traceback
    if fresh_run is not None:
        remove_run(fresh_run)
    print(f"flik-lab: error: {one_line(error)}", file=sys.stderr)
    sys.exit(USER_ERROR_EXIT_CODE)


def run_app(config_name: str, task: Callable[[DictConfig], None], wants_traceback: bool) -> None:
    """Hydra's app of `conf/<config_name>.yaml` running `task`; what fails before the job (an override, a
    config group, a launcher's precondition) is one line, exit 2."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises what fails before the job instead of printing it
    try:
        hydra.main(version_base="1.3", config_path=CONF_PATH, config_name=config_name)(task)()
    except Exception as exc:
        error = None if wants_traceback else before_job_error(exc)
        if error is None:
            raise
        print(f"flik-lab: error: {error}", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT_CODE)
    finally:
        restore_full_error(wants_traceback)


def register_launchers() -> None:
    """flik-lab's Hydra launchers. Hydra's own plugin scan misses them in an editable install and skips
    their `_` modules in a wheel, where it would warn on every command that the `slurm` extra is missing."""
    try:
        from hydra_plugins.flik_lab_launchers._checked_slurm import CheckedSlurmLauncher
    except ImportError:  # without the `slurm` extra, `hydra/launcher=slurm` names it
        return
    Plugins.instance().register(CheckedSlurmLauncher)


def full_error() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def restore_full_error(wanted: bool) -> None:
    if not wanted:
        os.environ.pop("HYDRA_FULL_ERROR", None)


def before_job_error(exc: BaseException) -> str | None:
    """The one line for a user error Hydra raised before any job ran (an override, a config group, a
    launcher's precondition), or None for a bug."""
    missing = missing_extra(exc)  # a launcher's config that a plugin of a missing extra provides
    if missing is not None:
        return one_line(missing)
    if isinstance(exc, MissingConfigException) and exc.options is not None:
        public = [option for option in exc.options if not option.startswith("_")]
        return f"{str(exc).splitlines()[0]}; expected one of: {', '.join(public)}"
    if isinstance(exc, OverrideParseException):
        return f"cannot parse the override {exc.override!r}: {one_line(exc)}"
    if isinstance(exc, HydraException):
        first, *rest = one_line(exc).split("; ")
        if isinstance(exc.__cause__, OmegaConfBaseException):
            first = f"{first.rstrip('.')}: {one_line(exc.__cause__)}"
        return "; ".join([first, *rest])
    error = user_error(exc)
    return None if error is None else one_line(error)


def written_by_a_run(run_dir: Path) -> bool:
    """Whether `run_dir` holds more than what Hydra writes when a job starts (`.hydra/`, the job's log)."""
    hydra = HydraConfig.get()
    log_file = OmegaConf.select(hydra, "job_logging.handlers.file.filename", default="")
    hydra_files = {".hydra", f"{hydra.job.name}.log", Path(str(log_file)).name, "train.log"}
    return run_dir.is_dir() and not {p.name for p in run_dir.iterdir()} <= hydra_files


def remove_run(run_dir: Path) -> None:
    """Remove the directory of a run that a user error stopped before it produced anything worth keeping."""
    if run_dir.is_dir() and not (run_dir / "checkpoints").is_dir():
        logging.shutdown()  # the log file's handler
        shutil.rmtree(run_dir)


def lazy_body(module: str) -> Callable[[DictConfig], object]:
    """`module.run`, imported only when a job runs: `--help`, `--cfg`, shell completion and config errors
    answer without loading torch or Lightning (seconds on a loaded machine)."""

    def body(cfg: DictConfig) -> object:
        return importlib.import_module(module).run(cfg)

    return body


def print_written(paths: Iterable[Path]) -> None:
    """One `flik-lab: wrote <path>` line per output file."""
    for path in paths:
        print(f"flik-lab: wrote {path}")


def refuse_to_overwrite(*paths: Path, hint: str = "") -> None:
    """Raise `FileExistsError` naming the paths that exist already; `hint` says what to do instead."""
    existing = ", ".join(str(path) for path in paths if path.exists())
    if existing:
        raise FileExistsError(f"refusing to overwrite {existing}" + (f"; {hint}" if hint else ""))
