"""`flik-lab compare PATH [PATH ...] [--metric val/fid]`: one table and one plot of runs' metrics, read from
what their loggers wrote (CSV, TensorBoard or offline W&B)."""

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from flik_lab.commands.app import refuse_to_overwrite
from flik_lab.loggers.run_metrics import read_run_metrics
from flik_lab.utils.errors import InputError

INDEX_COLUMNS = ("epoch", "step")


@dataclass
class Run:
    """One run directory: its name in the table, its command-line overrides and its logged metrics."""

    path: Path
    name: str
    overrides: dict[str, str]
    metrics: pd.DataFrame | None  # None when csv/metrics.csv is missing or empty
    problem: str = ""  # why `metrics` is None


def _natural_key(path: Path) -> list:
    """Sort key putting sweep job 10 after job 9."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def find_runs(paths) -> list[Path]:
    """Run directories (holding `.hydra/`) given directly or as the jobs of sweep directories."""
    runs, seen = [], set()
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        if (path / ".hydra").is_dir():
            found = [path]
        elif path.is_dir():
            found = sorted((d for d in path.iterdir() if (d / ".hydra").is_dir()), key=_natural_key)
        else:
            found = []
        if not found:
            raise InputError(
                f"{path} holds no run: expected a run directory with .hydra/ or a sweep directory of them"
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
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        if key.startswith("~"):
            key, value = key[1:], "(deleted)"
        overrides[key.lstrip("+")] = value
    return overrides


def read_metrics(run: Path) -> tuple[pd.DataFrame | None, str]:
    """The run's metrics from CSV, TensorBoard or offline W&B files, or None and the reason."""
    frame, source = read_run_metrics(run)
    return (frame, "") if frame is not None else (None, source)


def load_runs(paths) -> list[Run]:
    """Every run under `paths`, named by its directory relative to the runs' common parent."""
    dirs = find_runs(paths)
    root = Path(os.path.commonpath([d.resolve().parent for d in dirs]))
    return [
        Run(d, d.resolve().relative_to(root).as_posix(), read_overrides(d), *read_metrics(d)) for d in dirs
    ]


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
            row.update({best: values[at], best_epoch: epoch, final: values.iloc[-1], "status": "ok"})
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


def plot_metric(runs: list[Run], metric: str, output: Path) -> Path:
    """PNG of `metric` against epoch, one curve per run with values; never overwrites `output`."""
    # the object-oriented API, not pyplot: no global backend switch in the caller's notebook
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    output = Path(output)
    if output.suffix != ".png":
        raise InputError(f"output {output} must end in .png")
    refuse_to_overwrite(output, hint="remove it or pick --output FILE.png")
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
    fig.savefig(output, dpi=120, bbox_inches="tight")
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="flik-lab compare", description="Table and plot of the metrics of runs and sweeps."
    )
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="sweep directories and/or run directories"
    )
    parser.add_argument("--metric", help="default: val/fid, else val/acc, else the first val/ metric")
    parser.add_argument(
        "--mode", choices=("min", "max"), help="which is best; default: min for fid and loss, else max"
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="FILE.png",
        help="PNG of the curves; default: <first PATH>/compare_<metric>.png",
    )
    args = parser.parse_args(argv)
    try:
        runs = load_runs(args.paths)
        table = metric_table(runs, args.metric, args.mode)
        metric, mode = table.attrs["metric"], table.attrs["mode"]
        print(f"{len(table)} runs by best {metric} ({mode}); val/ and test/ columns: final values")
        if len(runs) > 1 and (shared := constant_overrides(runs)):
            print(f"the same in every run: {shared}")
        epochs = table["best epoch"].map(lambda e: "-" if pd.isna(e) else str(e))  # na_rep skips <NA>
        shown = table.assign(**{"best epoch": epochs})
        print(shown.to_string(index=False, na_rep="-", float_format="{:.5g}".format))
        output = args.output or args.paths[0] / f"compare_{metric.replace('/', '_')}.png"
        by_name = {run.name: run for run in runs}
        written = plot_metric([by_name[name] for name in table["job"]], metric, output)
    except (FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"flik-lab compare: error: {err}", file=sys.stderr)
        sys.exit(1)
    print(f"flik-lab: wrote {written}")


if __name__ == "__main__":
    main()
