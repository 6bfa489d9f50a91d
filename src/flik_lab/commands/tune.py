"""`flik-lab tune hparams_search=gan_fid [n_trials=N] [study_dir=...] [-- train overrides]`: an Optuna search.

Each trial is one `train` run in `<sweep dir>/trial_<number>`; the study lives in `<sweep dir>/study.db`.
"""

import logging
import math
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import optuna
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig, OmegaConf
from optuna.trial import Trial, TrialState

from flik_lab.commands.app import run_command
from flik_lab.training import train
from flik_lab.utils.conf import CONF_MODULE
from flik_lab.utils.config_schema import ConfigError, validate_config
from flik_lab.utils.finish import finish_wandb

log = logging.getLogger(__name__)

SAMPLERS = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
_ABSENT = object()


class ReportToTrial(L.Callback):
    """Reports `metric` to the trial after each validation; raises `optuna.TrialPruned` when told to stop."""

    def __init__(self, trial: Trial, metric: str):
        self.trial, self.metric = trial, metric

    # not on_validation_epoch_end: the callbacks' hook runs before the model's, which logs the metric
    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(self.metric)
        if trainer.sanity_checking or value is None:
            return
        epoch = trainer.current_epoch
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"{self.metric}={float(value):.4g} at epoch {epoch}")


def check_search(search: DictConfig) -> None:
    """Raise `ConfigError` naming the first key of `hparams_search` that cannot be searched."""
    choices = {"direction": ("minimize", "maximize"), "sampler.type": tuple(SAMPLERS)}
    choices["pruner.type"] = ("median", "none")
    for key, allowed in choices.items():
        if (value := OmegaConf.select(search, key)) not in allowed:
            raise ConfigError(f"hparams_search.{key}={value!r}: expected one of {allowed}")
    if not search.params:
        raise ConfigError("hparams_search.params is empty: expected train config keys to search")
    for key, spec in search.params.items():
        where = f"hparams_search.params.{key}"
        if spec.type == "categorical":
            if not spec.choices:
                raise ConfigError(f"{where}.choices: expected a non-empty list for type: categorical")
        elif spec.type in ("float", "int"):
            if spec.low is None or spec.high is None or spec.low > spec.high:
                raise ConfigError(f"{where}: expected low <= high, got low={spec.low} high={spec.high}")
            if spec.log and spec.low <= 0:
                raise ConfigError(f"{where}: log: true needs low > 0, got low={spec.low}")
            if spec.type == "int" and not (spec.low.is_integer() and spec.high.is_integer()):
                raise ConfigError(f"{where}: type: int needs whole low and high, got {spec.low}, {spec.high}")
        else:
            raise ConfigError(f"{where}.type={spec.type!r}: expected float, int or categorical")


def suggest(trial: Trial, key: str, spec: DictConfig) -> Any:
    """The trial's value for one `hparams_search.params` entry."""
    if spec.type == "categorical":
        return trial.suggest_categorical(key, OmegaConf.to_container(spec.choices))
    if spec.type == "int":
        return trial.suggest_int(key, int(spec.low), int(spec.high), log=spec.log)
    return trial.suggest_float(key, spec.low, spec.high, log=spec.log)


def override(key: str, value: Any) -> str:
    """`key=value` in Hydra's override grammar; strings are quoted so that "1e-3" stays a string."""
    if isinstance(value, str):
        quoted = value.replace("'", "\\'")
        return f"{key}='{quoted}'"
    if isinstance(value, bool) or value is None:
        return f"{key}={str(value).lower() if value is not None else 'null'}"
    return f"{key}={value}"


@contextmanager
def _train_hydra() -> Iterator[None]:
    """Hydra initialised on `flik_lab.conf` for `compose`, also inside `flik-lab tune`'s own Hydra app."""
    outer = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()  # initialize_config_module refuses to run inside an initialised Hydra
    try:
        with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
            yield
    finally:
        GlobalHydra.instance().hydra = outer


def compose_train(overrides: list[str]) -> DictConfig:
    """The config `flik-lab train <overrides>` would run."""
    with _train_hydra():
        return compose(config_name="train", overrides=overrides)


def check_train_config(search: DictConfig, fixed: list[str], sweep_dir: Path) -> None:
    """Compose and validate what every trial shares once, so that a typo fails before any training."""
    cfg = compose_train([*fixed, f"paths.output_dir={sweep_dir}"])
    validate_config(cfg)
    devices = cfg.trainer.get("devices", 1)
    if devices not in (1, "1") and not (OmegaConf.is_list(devices) and len(devices) == 1):
        # extra DDP ranks would re-run the command line: the tune command, not this trial
        raise ConfigError(f"trainer.devices={devices}: flik-lab tune trains each trial on one device")
    for key in search.params:
        if not key.startswith("+") and OmegaConf.select(cfg, key, default=_ABSENT) is _ABSENT:
            raise ConfigError(f"hparams_search.params.{key}: no such key in the train config of {fixed}")


def open_study(cfg: DictConfig, sweep_dir: Path, fixed: list[str]) -> optuna.Study:
    """The study in `<sweep_dir>/study.db`: created, or loaded to go on with (resume)."""
    search, db = cfg.hparams_search, sweep_dir / "study.db"
    if cfg.study_dir is not None and not db.is_file():
        raise ConfigError(f"study_dir={cfg.study_dir} holds no study.db to resume; leave study_dir unset")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{db}")
    summaries = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
    if summaries and cfg.study_name not in summaries:
        raise ConfigError(f"{db} holds study {sorted(summaries)}, not study_name={cfg.study_name}")
    earlier = summaries.get(cfg.study_name)
    if earlier is not None:
        found = (earlier.user_attrs.get("metric"), earlier.direction.name.lower())
        if found != (search.metric, search.direction):
            raise ConfigError(
                f"the study in {db} searches {found[0]} ({found[1]}); hparams_search has "
                f"metric={search.metric} direction={search.direction}"
            )
    seed = search.sampler.seed
    if seed is not None and earlier is not None:
        seed += earlier.n_trials  # a resumed search must not draw the first trials' params again
    study = optuna.create_study(
        storage=storage,
        study_name=cfg.study_name,
        direction=search.direction,
        sampler=SAMPLERS[search.sampler.type](seed=seed),
        pruner=make_pruner(search.pruner),
        load_if_exists=True,
    )
    if earlier is None:
        study.set_user_attr("metric", search.metric)
        study.set_user_attr("overrides", fixed)
    else:
        log.info("resuming study %s in %s (%d trials)", cfg.study_name, db, earlier.n_trials)
        if (before := study.user_attrs.get("overrides")) != fixed:
            log.warning("earlier trials had the overrides %s, these get %s", before, fixed)
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        log.warning("trial %d was left running by an interrupted tune: marked failed", stale.number)
        study.tell(stale.number, state=TrialState.FAIL)
    return study


def make_pruner(spec: DictConfig) -> optuna.pruners.BasePruner:
    if spec.type == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(spec.n_startup_trials, spec.n_warmup_steps)


def metric_value(metrics: dict[str, float], metric: str) -> float:
    """The trial's value: `metric` as the finished run returns it."""
    if metric not in metrics:
        raise ConfigError(f"hparams_search.metric={metric} is not among the run's metrics {sorted(metrics)}")
    if not math.isfinite(metrics[metric]):
        raise FloatingPointError(f"{metric}={metrics[metric]}: the run diverged")
    return metrics[metric]


@contextmanager
def trial_log(run_dir: Path) -> Iterator[None]:
    """The trial's log lines also in `<run_dir>/train.log`, as `flik-lab train` keeps them: what the trial
    did, and for `flik-lab compare` whether it finished or SIGTERM stopped it."""
    root = logging.getLogger()
    hydra_file = next((h for h in root.handlers if isinstance(h, logging.FileHandler)), None)
    run_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(
        hydra_file.formatter
        if hydra_file is not None and hydra_file.formatter is not None
        else logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    )
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


def run_trial(study: optuna.Study, search: DictConfig, fixed: list[str], sweep_dir: Path) -> TrialState:
    """Ask for a trial, train it, tell its outcome; a failing run is recorded, not raised."""
    trial = study.ask()
    run_dir = sweep_dir / f"trial_{trial.number}"
    trial.set_user_attr("run_dir", str(run_dir))
    try:
        params = [override(key, suggest(trial, key, spec)) for key, spec in search.params.items()]
        trial.set_user_attr("overrides", [*fixed, *params])
        cfg = compose_train([*fixed, *params, f"paths.output_dir={run_dir}"])
        with trial_log(run_dir):
            metrics = train(cfg, extra_callbacks=[ReportToTrial(trial, search.metric)])
        value = metric_value(metrics, search.metric)
    except optuna.TrialPruned as pruned:
        finish_wandb(failed=False)
        log.info("trial %d pruned: %s", trial.number, pruned)
        return study.tell(trial, state=TrialState.PRUNED).state
    except Exception as exc:
        finish_wandb(failed=True)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.txt").write_text("".join(traceback.format_exception(exc)))
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
        log.error("trial %d failed, the search goes on: %r (%s/error.txt)", trial.number, exc, run_dir)
        return study.tell(trial, state=TrialState.FAIL).state
    except BaseException:  # Ctrl-C: do not leave the trial running in the study
        finish_wandb(failed=True)
        study.tell(trial, state=TrialState.FAIL)
        raise
    finish_wandb(failed=False)
    log.info("trial %d: %s=%.4g", trial.number, search.metric, value)
    return study.tell(trial, value).state


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def trials_table(study: optuna.Study) -> str:
    """One line per trial of the study: number, state, value, params."""
    keys = list(dict.fromkeys(key for t in study.trials for key in t.params))
    rows = [["trial", "state", study.user_attrs.get("metric", "value"), *keys]]
    for t in study.trials:
        rows.append([str(t.number), t.state.name, _cell(t.value), *(_cell(t.params.get(k)) for k in keys)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def write_best(study: optuna.Study, path: Path) -> dict | None:
    """`best.yaml`: the best completed trial's params, value, run directory and train overrides."""
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    best = study.best_trial
    summary = {"trial": best.number, "value": best.value, "metric": study.user_attrs.get("metric")}
    summary |= {"direction": study.direction.name.lower(), "params": best.params}
    summary |= {k: best.user_attrs.get(k) for k in ("run_dir", "overrides")}
    OmegaConf.save(OmegaConf.create(summary), path)
    return summary


def tune(cfg: DictConfig) -> optuna.Study:
    """Run `n_trials` more trials of the study, print the table and write best.yaml; raises if all failed."""
    search = cfg.hparams_search
    check_search(search)
    n_trials = cfg.n_trials if cfg.n_trials is not None else search.n_trials
    if n_trials < 1:
        raise ConfigError(f"n_trials={n_trials}: expected at least 1")
    sweep_dir = Path(cfg.study_dir if cfg.study_dir is not None else cfg.paths.output_dir).absolute()
    fixed = [*search.overrides, *cfg.train_overrides]
    check_train_config(search, fixed, sweep_dir)
    study = open_study(cfg, sweep_dir, fixed)

    states = [run_trial(study, search, fixed, sweep_dir) for _ in range(n_trials)]
    print(trials_table(study))
    best = write_best(study, sweep_dir / "best.yaml")
    if best is not None:
        print(f"best: trial {best['trial']} {best['metric']}={best['value']:.4g} {best['params']}")
    print(f"flik-lab: study in {sweep_dir / 'study.db'}")
    if all(state == TrialState.FAIL for state in states):
        raise RuntimeError(f"all {n_trials} trials failed; see trial_*/error.txt in {sweep_dir}")
    return study


def run(cfg: DictConfig) -> None:
    tune(cfg)


def main() -> None:
    """Hydra app on `tune.yaml`; the words after `--` are train overrides for every trial."""
    run_command("tune", run, after_dashes="train_overrides")


if __name__ == "__main__":
    main()
