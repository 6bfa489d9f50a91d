"""`flik-lab compare PATH [PATH ...] [--metric val/fid]`: one table and one plot of runs' metrics, read from
what their loggers wrote (CSV, TensorBoard or offline W&B).

A PATH is a run (`train`'s run or sweep job, `tune`'s trial), a sweep of them or a `tune` study. Each run's
status comes from its own files; runs that differ only by `seed` share one row (mean ± std over n runs).
"""

import argparse
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pandas as pd
import yaml

from flik_lab.loggers.run_metrics import read_run_metrics
from flik_lab.utils.errors import USER_ERROR_EXIT_CODE, InputError, one_line, user_error

INDEX_COLUMNS = ("epoch", "step")
STUDY_DB = "study.db"  # what `flik-lab tune` writes into its study folder beside trial_<number>/
SOFTWARE = "flik-lab compare"  # the PNG's Software text: the mark of a plot this command may replace
FINISHED = "flik-lab: run finished in"  # train.log's last line of a run that ended (see run_summary)
INTERRUPTED = "interrupted by SIGTERM"  # train.log's line of a run that SIGTERM stopped


@dataclass
class Run:
    """One run directory: its name in the table, its command-line overrides and its logged metrics."""

    path: Path
    name: str
    overrides: dict[str, str]
    metrics: pd.DataFrame | None  # None when csv/metrics.csv is missing or empty
    problem: str = ""  # why `metrics` is None
    status: str = "ok"  # ok, interrupted, failed: <error>, pruned, running; from the run's files


def _natural_key(path: Path) -> list:
    """Sort key putting sweep job 10 after job 9."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def is_study(path: Path) -> bool:
    return (path / STUDY_DB).is_file()


def is_run(path: Path) -> bool:
    """A `train` run or sweep job (`.hydra/`), or a `tune` trial (`trial_<n>/` in a study folder)."""
    if is_study(path):  # the study folder is tune's own Hydra run: its `.hydra/` is no training run
        return False
    trial = re.fullmatch(r"trial_\d+", path.name) is not None and is_study(path.parent)
    return (path / ".hydra").is_dir() or (trial and path.is_dir())


def find_runs(paths) -> list[Path]:
    """Run directories given directly or as the jobs of sweep directories or the trials of tune studies."""
    runs, seen = [], set()
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if is_run(path):
            found = [path]
        elif path.is_dir():
            found = sorted((d for d in path.iterdir() if is_run(d)), key=_natural_key)
        else:
            found = []
        if not found:
            raise InputError(
                f"{path} holds no run: expected a run directory with .hydra/, a sweep directory of them, "
                f"or a tune study folder with {STUDY_DB}"
            )
        for run in found:
            if run.resolve() not in seen:
                seen.add(run.resolve())
                runs.append(run)
    return runs


def read_overrides(run: Path) -> dict[str, str]:
    """The job's command-line overrides (`.hydra/overrides.yaml`) as `{key: value}`, values as typed."""
    path = run / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return {}
    items = yaml.safe_load(path.read_text()) or []
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InputError(f"{path}: expected a YAML list of key=value overrides, got {items!r}")
    return _parse_overrides(items)


def read_metrics(run: Path) -> tuple[pd.DataFrame | None, str]:
    """The run's metrics from CSV, TensorBoard or offline W&B files, or None and the reason."""
    frame, source = read_run_metrics(run)
    return (frame, "") if frame is not None else (None, source)


def _parse_overrides(items: list[str]) -> dict[str, str]:
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        if key.startswith("~"):
            key, value = key[1:], "(deleted)"
        overrides[key.lstrip("+")] = value
    return overrides


def _last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    line = lines[-1] if lines else "(empty error.txt)"
    return line if len(line) <= 100 else line[:99] + "…"


def _log_ending(log: Path) -> str | None:
    """`finished` or `interrupted`: the last of the two in a train.log (a resumed run appends to the same
    log, so its last start decides), None without either."""
    if not log.is_file():
        return None
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if INTERRUPTED in line:
            return "interrupted"
        if FINISHED in line:
            return "finished"
    return None


def run_status(run: Path, trial_state: str | None = None, trial_error: str | None = None) -> str:
    """`ok`, `interrupted`, `failed: <the error's last line>`, `pruned` or `running`, from the run's own
    files first (a sweep job's `interrupted.txt` or `error.txt`, the last word of its `train.log`), then
    from the state `flik-lab tune` recorded for a trial."""
    if (run / "interrupted.txt").is_file():
        return "interrupted"
    log, error = run / "train.log", run / "error.txt"
    ending = _log_ending(log)
    # a failed job resumed to its end in its own folder keeps its old error.txt
    if error.is_file() and not (ending == "finished" and log.stat().st_mtime > error.stat().st_mtime):
        return f"failed: {_last_line(error)}"
    if ending == "interrupted":
        return "interrupted"
    if trial_state == "FAIL":
        return f"failed: {trial_error}" if trial_error else "failed"
    if trial_state in ("PRUNED", "RUNNING"):
        return trial_state.lower()
    return "ok"


def read_study(study: Path) -> dict[str, tuple[dict[str, str], str, str | None]]:
    """`{trial folder name: (overrides, state, error)}` of the tune study in `study/study.db`, as recorded
    through Optuna's own API (its SQLite schema is Optuna's business)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{study / STUDY_DB}"
    try:
        names = [summary.study_name for summary in optuna.get_all_study_summaries(storage)]
        trials = [t for name in names for t in optuna.load_study(study_name=name, storage=storage).trials]
    except Exception as exc:  # a file of another Optuna version or no database at all
        raise InputError(f"{study / STUDY_DB} cannot be read as an Optuna study: {one_line(exc)}") from exc
    found = {}
    for trial in trials:
        items = trial.user_attrs.get("overrides")
        if not isinstance(items, list):  # the trial failed before its overrides were recorded
            items = [f"{key}={value}" for key, value in trial.params.items()]
        name = Path(trial.user_attrs.get("run_dir") or f"trial_{trial.number}").name
        found[name] = (_parse_overrides(items), trial.state.name, trial.user_attrs.get("error"))
    return found


def load_runs(paths) -> list[Run]:
    """Every run under `paths`, named by its directory relative to the runs' common parent."""
    dirs = find_runs(paths)
    root = Path(os.path.commonpath([d.resolve().parent for d in dirs]))
    studies = {d.parent for d in dirs if is_study(d.parent)}
    trials = {(s, name): info for s in studies for name, info in read_study(s).items()}
    runs = []
    for d in dirs:
        overrides, state, error = trials.get((d.parent, d.name), (read_overrides(d), None, None))
        frame, problem = read_metrics(d)
        status = run_status(d, state, error)
        runs.append(Run(d, d.resolve().relative_to(root).as_posix(), overrides, frame, problem, status))
    return runs


def available_metrics(runs: list[Run]) -> list[str]:
    """Metric columns of all the runs' metrics.csv files, in order of first appearance."""
    names = (c for r in runs if r.metrics is not None for c in r.metrics.columns if c not in INDEX_COLUMNS)
    return list(dict.fromkeys(names))


def default_metric(available: list[str]) -> str | None:
    """`val/fid`, else `val/acc`, else the first `val/` metric; None without any."""
    val = [name for name in available if name.startswith("val/")]
    return next((name for name in ("val/fid", "val/acc") if name in val), val[0] if val else None)


def default_mode(metric: str) -> str:
    """Lower is better for FIDs and losses, higher for everything else."""
    return "min" if "fid" in metric.lower() or "loss" in metric.lower() else "max"


def _last(values: pd.Series) -> float:
    values = values.dropna()
    return values.iloc[-1] if len(values) else float("nan")


def metric_table(runs: list[Run], metric: str | None = None, mode: str | None = None) -> pd.DataFrame:
    """One row per run, best first by `metric`; `attrs` holds the metric and mode actually used."""
    available = available_metrics(runs)
    where = os.path.commonpath([r.path.resolve() for r in runs])
    listing = ", ".join(available) or "none (no run has a metrics.csv)"
    if metric is None:
        metric = default_metric(available)
        if metric is None:
            raise InputError(f"no run under {where} logged a val/ metric; pick --metric from: {listing}")
    if metric not in available:
        raise InputError(f"metric {metric!r} was logged by no run under {where}; available: {listing}")
    mode = mode or default_mode(metric)
    if mode not in ("min", "max"):
        raise InputError(f"mode must be min or max, got {mode!r}")

    best, best_epoch, final = f"best {metric}", "best epoch", f"final {metric}"
    others = [n for n in available if n != metric and n.startswith("val/")]
    others += [n for n in available if n != metric and n.startswith("test/")]
    keys = varying_overrides(runs)
    rows = []
    for run in runs:
        frame = run.metrics if run.metrics is not None else pd.DataFrame()
        values = frame[metric].dropna() if metric in frame else pd.Series(dtype=float)
        row = {"job": run.name, **run.overrides}
        if len(values):
            at = values.idxmin() if mode == "min" else values.idxmax()
            epoch = frame.at[at, "epoch"] if "epoch" in frame else float("nan")
            row.update({best: values[at], best_epoch: epoch, final: values.iloc[-1], "status": run.status})
        elif run.status != "ok":
            row["status"] = run.status
        else:
            row["status"] = run.problem or f"no metrics: no {metric} logged"
        row.update({name: _last(frame[name]) for name in others if name in frame})
        rows.append(row)
    table = pd.DataFrame(rows, columns=["job", *keys, best, best_epoch, final, *others, "status"])
    table[best_epoch] = table[best_epoch].astype("Int64")
    table = table.sort_values(best, ascending=mode == "min", na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    table.attrs.update(metric=metric, mode=mode)
    return table


def compare_runs(paths, metric: str | None = None, mode: str | None = None) -> pd.DataFrame:
    """The table of `metric_table` for the runs and sweeps at `paths`."""
    return metric_table(load_runs(paths), metric, mode)


def seed_groups(runs: list[Run]) -> list[list[Run]]:
    """The runs in groups of those with the same overrides but `seed` (a group of one: no such twin).
    Runs with the same overrides and the same seed are repeats, not seeds: they stay apart."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        key = tuple(sorted((k, v) for k, v in run.overrides.items() if k != "seed"))
        groups.setdefault(key, []).append(run)
    out = []
    for group in groups.values():
        seeds = [run.overrides.get("seed") for run in group]
        out += [group] if len(set(seeds)) == len(group) else [[run] for run in group]
    return out


def _summary_status(statuses: list[str]) -> str:
    counts = Counter(status.split(":")[0] for status in statuses)
    return "ok" if set(counts) == {"ok"} else ", ".join(f"{n} {status}" for status, n in counts.items())


def group_table(runs: list[Run], table: pd.DataFrame) -> pd.DataFrame:
    """`table` (of `metric_table`) with the runs that differ only by seed in one row: each metric's mean
    and standard deviation (`<column> std`) over the `n` runs that logged it, best first by the mean."""
    metric, mode = table.attrs["metric"], table.attrs["mode"]
    values = [
        c
        for c in table.columns[table.columns.get_loc("best epoch") - 1 :]
        if c not in ("best epoch", "status")
    ]
    keys = [k for k in varying_overrides(runs) if k != "seed"]
    by_name = table.set_index("job")
    rows = []
    for group in seed_groups(runs):
        part = by_name.loc[[run.name for run in group]]
        row = {"job": ", ".join(part.index), **{k: group[0].overrides.get(k) for k in keys}}
        # an interrupted, failed or pruned seed stopped early: its values would pull the mean off
        counted = part[part["status"] == "ok"] if len(group) > 1 else part
        row["n"] = int(counted[f"best {metric}"].notna().sum())
        for column in values:
            numbers = pd.to_numeric(counted[column], errors="coerce")
            row[column], row[f"{column} std"] = numbers.mean(), numbers.std()  # std: NaN for n < 2
        statuses = part["status"].tolist()
        row["status"] = statuses[0] if len(group) == 1 else _summary_status(statuses)
        rows.append(row)
    columns = ["job", *keys, "n", *(name for c in values for name in (c, f"{c} std")), "status"]
    grouped = pd.DataFrame(rows, columns=columns)
    grouped = grouped.sort_values(
        f"best {metric}", ascending=mode == "min", na_position="last", kind="stable"
    )
    grouped = grouped.reset_index(drop=True)
    grouped.attrs.update(metric=metric, mode=mode)
    return grouped


def _number(value) -> str:
    return "-" if pd.isna(value) else f"{value:.5g}"


def format_table(runs: list[Run], table: pd.DataFrame, each_run: bool = False) -> str:
    """The printed table: a header line, the overrides every run shares, then one row per run, or with
    runs that differ only by seed, one row per group (`mean ± std`, n) unless `each_run`."""
    metric, mode = table.attrs["metric"], table.attrs["mode"]
    grouped = not each_run and any(len(group) > 1 for group in seed_groups(runs))
    if grouped:
        shown = group_table(runs, table)
        lines = [f"{len(runs)} runs in {len(shown)} rows by mean best {metric} ({mode}) over n seeds, ± std"]
        for column in [c for c in shown.columns if f"{c} std" in shown.columns]:
            mean_std = zip(shown[column], shown.pop(f"{column} std"), strict=True)
            shown[column] = [_number(m) + ("" if pd.isna(s) else f" ± {s:.2g}") for m, s in mean_std]
    else:
        lines = [f"{len(table)} runs by best {metric} ({mode})"]
        epochs = table["best epoch"].map(lambda e: "-" if pd.isna(e) else str(e))  # na_rep skips <NA>
        shown = table.assign(**{"best epoch": epochs})
    lines[0] += "; val/ and test/ columns: final values"
    if len(runs) > 1 and (shared := constant_overrides(runs)):
        lines.append(f"the same in every run: {shared}")
    lines.append(shown.to_string(index=False, na_rep="-", float_format="{:.5g}".format))
    return "\n".join(lines)


def compare_table(sweep_dir: Path) -> str:
    """The table `flik-lab compare sweep_dir` prints, for the end of a sweep; empty when there is nothing
    to compare (no job logged a val/ metric), so that the sweep's own report stays the last word."""
    try:
        runs = load_runs([sweep_dir])
        return format_table(runs, metric_table(runs))
    except (InputError, FileNotFoundError):
        return ""


def varying_overrides(runs: list[Run]) -> list[str]:
    """The override keys whose values differ between the runs (all of them for a single run)."""
    keys = list(dict.fromkeys(k for r in runs for k in r.overrides))
    return keys if len(runs) == 1 else [k for k in keys if len({r.overrides.get(k) for r in runs}) > 1]


def constant_overrides(runs: list[Run]) -> str:
    """`key=value` of the overrides every run shares (shown once above the table, not as columns)."""
    keys = [
        k for k in dict.fromkeys(k for r in runs for k in r.overrides) if k not in varying_overrides(runs)
    ]
    return " ".join(f"{k}={runs[0].overrides[k]}" for k in keys)


def legend_labels(runs: list[Run]) -> list[str]:
    """Each run's overrides that differ between the runs (`model.lr_g=1e-4 seed=1`), else its name."""
    varying = varying_overrides(runs)
    return [" ".join(f"{k}={r.overrides[k]}" for k in varying if k in r.overrides) or r.name for r in runs]


def written_by_compare(path: Path) -> bool:
    """Whether `path` is a PNG this command wrote (its Software text says so)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.format == "PNG" and image.info.get("Software") == SOFTWARE
    except OSError:  # not an image at all
        return False


def plot_metric(runs: list[Run], metric: str, output: Path) -> Path:
    """PNG of `metric` against epoch, one curve per run with values. An existing `output` is replaced
    only when this command wrote it: a re-run redraws its own plot (more jobs may have finished since),
    and never touches anyone else's file."""
    # the object-oriented API, not pyplot: no global backend switch in the caller's notebook
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    output = Path(output)
    if output.suffix != ".png":
        raise InputError(f"output {output} must end in .png")
    if output.exists() and not written_by_compare(output):
        raise FileExistsError(
            f"refusing to overwrite {output}: flik-lab compare did not write it; "
            "remove it or pick --output FILE.png"
        )
    labels = dict(zip((r.name for r in runs), legend_labels(runs), strict=True))
    curves = {
        r.name: r.metrics.dropna(subset=[metric])
        for r in runs
        if r.metrics is not None and metric in r.metrics and r.metrics[metric].notna().any()
    }
    if not curves:
        raise InputError(f"no run has values of {metric} to plot")
    # metrics logged several times per epoch (train losses) would stack vertically against epoch
    x = "epoch" if not any(c["epoch"].duplicated().any() for c in curves.values()) else "step"

    # the legend goes below the axes, where long override lists cannot hide the curves
    fig = Figure(figsize=(8, 4.5 + 0.22 * len(curves)), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, (name, curve) in enumerate(curves.items()):
        style = ("-", "--", ":")[i // 10 % 3]  # the default cycle has 10 colours
        ax.plot(curve[x], curve[metric], style, marker="o", markersize=3, label=labels[name])
    ax.set(xlabel=x, ylabel=metric, title=f"{metric} of {len(curves)} runs")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", fontsize="small")
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=120, bbox_inches="tight", metadata={"Software": SOFTWARE})
    return output


class Parser(argparse.ArgumentParser):
    """argparse with flik-lab's one line for a user error in place of the usage text."""

    def error(self, message: str) -> NoReturn:
        print(f"flik-lab: error: {message} (see flik-lab compare --help)", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT_CODE)


def main(argv: list[str] | None = None) -> None:
    parser = Parser(
        prog="flik-lab compare",
        description="Table and plot of the metrics of runs, sweeps and tune studies.",
    )
    parser.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="run directories, sweep directories and/or tune study folders",
    )
    parser.add_argument("--metric", help="default: val/fid, else val/acc, else the first val/ metric")
    parser.add_argument(
        "--mode", choices=("min", "max"), help="which is best; default: min for fid and loss, else max"
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE.png",
        help="PNG of the curves; default: <first PATH>/compare_<metric>.png (replaced on a re-run)",
    )
    parser.add_argument(
        "--each-run", action="store_true", help="one row per run, also for runs that differ only by seed"
    )
    args = parser.parse_args(argv)
    try:
        runs = load_runs(args.paths)
        table = metric_table(runs, args.metric, args.mode)
        print(format_table(runs, table, each_run=args.each_run))
        metric = table.attrs["metric"]
        output = args.output or args.paths[0] / f"compare_{metric.replace('/', '_')}.png"
        by_name = {run.name: run for run in runs}
        written = plot_metric([by_name[name] for name in table["job"]], metric, output)
    except Exception as exc:
        error = user_error(exc)
        if error is None:
            raise  # a bug shows its traceback
        print(f"flik-lab: error: {one_line(error)}", file=sys.stderr)
        sys.exit(USER_ERROR_EXIT_CODE)
    print(f"flik-lab: wrote {written}")


if __name__ == "__main__":
    main()
