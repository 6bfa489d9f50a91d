"""`flik-lab compare` on fake run directories in the layout `flik-lab train -m` writes."""

import math
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flik_lab import cli
from flik_lab.commands.compare import compare_runs, legend_labels, load_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_run(run: Path, overrides: list[str], val: dict[str, list[float]] | None = None, test=None) -> Path:
    """A run directory; `val` holds one value per epoch, written CSVLogger-style (sparse rows)."""
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (run / ".hydra" / "config.yaml").write_text("seed: 0\n")
    if val is None:
        return run  # a job that crashed before logging
    rows, step = [], 0
    for epoch in range(len(next(iter(val.values())))):
        for _ in range(2):
            step += 5
            rows.append({"epoch": epoch, "step": step, "train/loss_d": 1.0 / step})
        rows.append({"epoch": epoch, "step": step, **{name: v[epoch] for name, v in val.items()}})
    if test:
        rows.append({"epoch": epoch, "step": step, **test})
    (run / "csv").mkdir()
    pd.DataFrame(rows).to_csv(run / "csv" / "metrics.csv", index=False)
    return run


@pytest.fixture
def sweep(tmp_path) -> Path:
    """`flik-lab train -m model.lr_g=1e-4,2e-4 seed=1,2 trainer.max_epochs=3`; job 3 failed."""
    root = tmp_path / "multiruns" / "2024-05-01_12-00-00"
    jobs = [
        (["model.lr_g=1e-4", "seed=1"], [300.0, 200.0, 250.0], 240.0),
        (["model.lr_g=2e-4", "seed=1"], [280.0, 150.0, 120.0], 125.0),
        (["model.lr_g=1e-4", "seed=2"], [310.0, 180.0, 190.0], 185.0),
        (["model.lr_g=2e-4", "seed=2"], None, None),
    ]
    for number, (overrides, fids, test_fid) in enumerate(jobs):
        val = {"val/fid": fids} if fids else None
        write_run(root / str(number), ["trainer.max_epochs=3", *overrides], val, {"test/fid": test_fid})
    (root / "multirun.yaml").write_text("hydra: {}\n")
    return root


def test_table_is_sorted_by_best_with_final_value_and_best_epoch(sweep):
    table = compare_runs([sweep])
    assert table.attrs == {"metric": "val/fid", "mode": "min"}
    assert table["job"].tolist() == ["1", "2", "0", "3"]
    done = table.iloc[:3]
    assert done["best val/fid"].tolist() == [120.0, 180.0, 200.0]
    assert done["best epoch"].tolist() == [2, 1, 1]
    assert done["final val/fid"].tolist() == [120.0, 190.0, 250.0]
    assert done["test/fid"].tolist() == [125.0, 185.0, 240.0]
    assert "train/loss_d" not in table  # only val/ and test/ metrics get a column


def test_each_varying_override_is_a_column(sweep):
    table = compare_runs([sweep])
    assert table["model.lr_g"].tolist() == ["2e-4", "1e-4", "1e-4", "2e-4"]  # as typed, not 0.0002
    assert table["seed"].tolist() == ["1", "2", "1", "2"]
    assert "trainer.max_epochs" not in table  # the same in every job: printed once above the table


def test_failed_job_is_last_with_its_reason(sweep):
    last = compare_runs([sweep]).iloc[-1]
    assert last["job"] == "3"
    assert last["status"] == "no metrics: no csv/metrics.csv, TensorBoard events or offline W&B run"
    assert math.isnan(last["best val/fid"]) and pd.isna(last["best epoch"])


def test_run_without_the_metric_goes_last_and_names_are_relative_to_the_common_parent(sweep, tmp_path):
    classifier = write_run(tmp_path / "runs" / "clf", ["model=lstm"], {"val/acc": [0.7, 0.8]})
    table = compare_runs([sweep, classifier, sweep / "1"])  # job 1 twice: listed once
    assert table["job"].tolist()[:3] == [f"multiruns/{sweep.name}/{n}" for n in ("1", "2", "0")]
    assert table["job"].tolist()[3:] == [f"multiruns/{sweep.name}/3", "runs/clf"]
    assert table["status"].iloc[-1] == "no metrics: no val/fid logged"
    assert table["val/acc"].iloc[-1] == 0.8


def test_default_metric_falls_back_to_val_acc_maximised(tmp_path):
    for name, accs in [("a", [0.5, 0.9, 0.8]), ("b", [0.6, 0.7, 0.95]), ("c", [0.4, 0.5, 0.6])]:
        write_run(tmp_path / name, [f"model={name}"], {"val/loss": [1.0, 0.9, 0.8], "val/acc": accs})
    table = compare_runs([tmp_path])
    assert table.attrs == {"metric": "val/acc", "mode": "max"}
    assert table["job"].tolist() == ["b", "a", "c"]
    assert table["best epoch"].tolist() == [2, 1, 2]
    assert compare_runs([tmp_path], mode="min")["job"].tolist() == ["c", "a", "b"]
    assert compare_runs([tmp_path], metric="val/loss").attrs["mode"] == "min"


def test_default_metric_is_the_first_val_metric_without_fid_or_acc(tmp_path):
    write_run(tmp_path / "run", [], {"val/bleu": [0.1, 0.2], "val/ppl": [9.0, 8.0]})
    assert compare_runs([tmp_path / "run"]).attrs == {"metric": "val/bleu", "mode": "max"}


def test_legend_shows_only_the_overrides_that_differ(sweep):
    runs = load_runs([sweep])
    assert legend_labels(runs) == [
        "model.lr_g=1e-4 seed=1",
        "model.lr_g=2e-4 seed=1",
        "model.lr_g=1e-4 seed=2",
        "model.lr_g=2e-4 seed=2",
    ]


def test_unknown_metric_lists_the_available_ones(sweep):
    with pytest.raises(ValueError, match="val/fdi") as err:
        compare_runs([sweep], metric="val/fdi")
    assert "available: train/loss_d, val/fid, test/fid" in str(err.value)


def test_missing_path_and_directory_without_runs(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        compare_runs([tmp_path / "nowhere"])
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"empty holds no run"):
        compare_runs([tmp_path / "empty"])


def run_cli(monkeypatch, *args) -> int:
    """`flik-lab compare *args` through the console script's dispatcher; its exit status."""
    monkeypatch.setattr(sys, "argv", ["flik-lab", "compare", *map(str, args)])
    try:
        cli.main()
    except SystemExit as err:
        return err.code
    return 0


def test_cli_prints_each_run_and_writes_the_png(sweep, monkeypatch, capsys):
    png = sweep / "compare_val_fid.png"
    assert run_cli(monkeypatch, sweep, "--each-run") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "4 runs by best val/fid (min)" in lines[0]
    assert lines[1] == "the same in every run: trainer.max_epochs=3"
    assert lines[2].split()[:3] == ["job", "model.lr_g", "seed"]
    assert [line.split()[0] for line in lines[3:7]] == ["1", "2", "0", "3"]
    assert lines[6].split()[3:7] == ["-"] * 4 and "<NA>" not in out  # the failed job's metrics
    assert f"wrote {png}" in lines[-1]
    assert png.read_bytes().startswith(PNG_MAGIC)

    other = sweep / "plots" / "fid.png"
    assert run_cli(monkeypatch, sweep, "--output", other) == 0
    assert other.read_bytes().startswith(PNG_MAGIC)


def test_cli_reports_a_missing_path_in_one_line_with_exit_code_2(tmp_path, monkeypatch, capsys):
    assert run_cli(monkeypatch, tmp_path / "no_such_sweep") == 2
    err = capsys.readouterr().err
    assert err.startswith("flik-lab: error: ") and "no_such_sweep does not exist" in err
    assert len(err.splitlines()) == 1


def test_cli_reports_a_bad_option_in_one_line_with_exit_code_2(sweep, monkeypatch, capsys):
    assert run_cli(monkeypatch, sweep, "--mode", "best") == 2
    err = capsys.readouterr().err
    assert err.startswith("flik-lab: error: argument --mode: invalid choice: 'best'")
    assert len(err.splitlines()) == 1
