"""`flik-lab compare` on tune studies, with each run's status from its own files, seeds grouped into one row,
re-runs, and the table a sweep ends with; fake run folders in the layouts `train -m` and `tune` write."""

import math
import os
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState
from PIL import Image

from flik_lab.commands.compare import compare_runs, compare_table, group_table, load_runs, metric_table

from .test_compare import PNG_MAGIC, run_cli, write_run

TRACEBACK = """Traceback (most recent call last):
  File "src/flik_lab/training.py", line 80, in train
    trainer.fit(model, datamodule=datamodule)
flik_lab.utils.errors.InputError: data.batch_size=100000: more than the 4000 digits
"""
LOG_START = "[2024-05-01 12:00:00,000][flik_lab.training][INFO] - fitting\n"
LOG_SIGTERM = (
    "[2024-05-01 12:00:09,000][flik_lab.callbacks.preemption][WARNING] - interrupted by SIGTERM at epoch 1, "
    "global step 10; checkpoint of this step: checkpoints/last.ckpt (resume with ckpt_path=...)\n"
)
LOG_FINISHED = "[2024-05-01 12:01:00,000][flik_lab.training][INFO] - flik-lab: run finished in 60.0 s: x\n"


def write_trial(study: Path, number: int, fids: list[float] | None, log: str | None = None) -> Path:
    """A trial folder as `flik-lab tune` leaves it: the resolved config.yaml, csv/metrics.csv, train.log."""
    run = study / f"trial_{number}"
    run.mkdir(parents=True)
    if fids is not None:
        (run / "config.yaml").write_text("seed: 0\ntrainer:\n  max_epochs: 3\n")
        rows = ["epoch,step,val/fid", *(f"{epoch},{5 * (epoch + 1)},{fid}" for epoch, fid in enumerate(fids))]
        (run / "csv").mkdir()
        (run / "csv" / "metrics.csv").write_text("\n".join(rows) + "\n")
    if log is not None:
        (run / "train.log").write_text(log)
    return run


@pytest.fixture
def study(tmp_path) -> Path:
    """A tune study (real Optuna SQLite file) of 4 trials: complete, pruned, failed, stopped by SIGTERM."""
    folder = tmp_path / "tune" / "runs" / "2024-05-01_12-00-00"
    (folder / ".hydra").mkdir(parents=True)  # tune's own Hydra run
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["hparams_search=gan_fid"]))
    (folder / "tune.log").write_text("")
    study = optuna.create_study(storage=f"sqlite:///{folder / 'study.db'}", study_name="tune")
    study.set_user_attr("metric", "val/fid")
    fixed = ["debug=tiny", "seed=0"]
    outcomes = [
        (TrialState.COMPLETE, [300.0, 150.0, 170.0], LOG_START + LOG_FINISHED),
        (TrialState.PRUNED, [400.0], LOG_START),
        (TrialState.FAIL, None, None),
        (TrialState.FAIL, [320.0, 250.0], LOG_START + LOG_SIGTERM),
    ]
    for state, fids, log in outcomes:
        trial = study.ask()
        lr = trial.suggest_float("model.lr_g", 1e-5, 1e-2, log=True)
        run = write_trial(folder, trial.number, fids, log)
        trial.set_user_attr("run_dir", str(run))
        trial.set_user_attr("overrides", [*fixed, f"model.lr_g={lr}"])
        if fids is None:
            (run / "error.txt").write_text(TRACEBACK)
            trial.set_user_attr("error", "InputError: data.batch_size=100000: fewer than ...")
        study.tell(trial, min(fids) if state == TrialState.COMPLETE else None, state=state)
    return folder


def test_a_study_folder_compares_its_trials(study):
    table = compare_runs([study])
    assert table["job"].tolist() == ["trial_0", "trial_3", "trial_1", "trial_2"]
    assert table["best val/fid"].tolist()[:3] == [150.0, 250.0, 400.0]
    assert table["status"].tolist() == [
        "ok",
        "interrupted",  # tune recorded FAIL; its train.log says SIGTERM stopped it
        "pruned",
        "failed: flik_lab.utils.errors.InputError: data.batch_size=100000: more than the 4000 digits",
    ]
    lrs = {
        t.number: t.params["model.lr_g"]
        for t in optuna.load_study(study_name="tune", storage=f"sqlite:///{study / 'study.db'}").trials
    }
    assert table["model.lr_g"].tolist() == [str(lrs[n]) for n in (0, 3, 1, 2)]
    assert "seed" not in table and "debug" not in table  # the same in every trial


def test_a_single_trial_folder_is_a_run_with_the_study_overrides(study):
    table = compare_runs([study / "trial_0"])
    assert table["job"].tolist() == ["trial_0"] and table["status"].tolist() == ["ok"]
    assert table["debug"].tolist() == ["tiny"] and table["best val/fid"].tolist() == [150.0]
    table = compare_runs([study / "trial_2", study / "trial_1"])  # trial 2 holds only error.txt
    assert table["job"].tolist() == ["trial_1", "trial_2"]
    assert table["status"].tolist()[1].startswith("failed: flik_lab.utils.errors.InputError")


def test_the_cli_on_a_study_prints_the_trials(study, monkeypatch, capsys):
    assert run_cli(monkeypatch, study) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("4 runs by best val/fid (min)")
    assert out[1] == "the same in every run: debug=tiny seed=0"
    assert [line.split()[0] for line in out[3:7]] == ["trial_0", "trial_3", "trial_1", "trial_2"]
    assert out[-1] == f"flik-lab: wrote {study / 'compare_val_fid.png'}"


@pytest.fixture
def sweep(tmp_path) -> Path:
    root = tmp_path / "multiruns" / "2024-05-01_12-00-00"
    for number, seed in enumerate([1, 2, 1, 2, 3]):
        lr = "1e-4" if number < 2 else "2e-4"
        fids = [[300.0, 200.0], [280.0, 220.0], [250.0, 150.0], [260.0, 130.0], [400.0, 100.0]][number]
        write_run(
            root / str(number),
            ["trainer.max_epochs=2", f"model.lr_g={lr}", f"seed={seed}"],
            {"val/fid": fids},
        )
        (root / str(number) / "train.log").write_text(LOG_START + LOG_FINISHED)
    return root


def test_status_from_the_jobs_own_files(sweep):
    (sweep / "1" / "interrupted.txt").write_text("job 1 (model.lr_g=1e-4 seed=2)  [...]\n")
    (sweep / "2" / "error.txt").write_text(
        TRACEBACK.replace("flik_lab.utils.errors.InputError", "ValueError")
    )
    (sweep / "3" / "train.log").write_text(LOG_START + LOG_SIGTERM)
    (sweep / "4" / "train.log").write_text(LOG_START + LOG_SIGTERM + LOG_START + LOG_FINISHED)  # resumed
    status = dict(zip(*compare_runs([sweep])[["job", "status"]].T.values, strict=True))
    assert status["0"] == "ok" and status["1"] == "interrupted" and status["3"] == "interrupted"
    assert status["2"] == "failed: ValueError: data.batch_size=100000: more than the 4000 digits"
    assert status["4"] == "ok"  # interrupted, then resumed to its end in the same folder


def test_a_failed_job_resumed_to_its_end_is_ok(sweep):
    error = sweep / "0" / "error.txt"
    error.write_text(TRACEBACK)
    os.utime(error, (1e9, 1e9))  # the failure came before the resumed run's log
    assert compare_runs([sweep]).set_index("job").at["0", "status"] == "ok"
    (sweep / "0" / "train.log").write_text(LOG_START)  # failed again, on resuming
    os.utime(error)
    assert compare_runs([sweep]).set_index("job").at["0", "status"].startswith("failed: ")


def test_runs_differing_only_by_seed_share_a_row(sweep):
    runs = load_runs([sweep])
    grouped = group_table(runs, metric_table(runs))
    assert grouped["job"].tolist() == ["2, 3, 4", "0, 1"]
    assert grouped["model.lr_g"].tolist() == ["2e-4", "1e-4"] and "seed" not in grouped
    assert grouped["n"].tolist() == [3, 2]
    assert grouped["best val/fid"].tolist() == pytest.approx([(150 + 130 + 100) / 3, 210.0])
    assert grouped["best val/fid std"].tolist() == pytest.approx([25.166114784, 14.142135624])
    assert grouped["status"].tolist() == ["ok", "ok"]


def test_a_stopped_seed_is_counted_apart_and_repeats_are_not_seeds(sweep):
    (sweep / "4" / "interrupted.txt").write_text("job 4\n")
    write_run(sweep / "5", ["trainer.max_epochs=2", "model.lr_g=3e-4", "seed=1"], {"val/fid": [90.0]})
    write_run(sweep / "6", ["trainer.max_epochs=2", "model.lr_g=3e-4", "seed=1"], {"val/fid": [95.0]})
    runs = load_runs([sweep])
    grouped = group_table(runs, metric_table(runs))
    assert grouped["job"].tolist() == ["5", "6", "2, 3, 4", "0, 1"]  # 5 and 6 are the same run twice
    lr2 = grouped.iloc[2]
    assert lr2["n"] == 2 and lr2["best val/fid"] == 140.0  # the interrupted seed 3 is not in the mean
    assert lr2["status"] == "2 ok, 1 interrupted"
    assert math.isnan(grouped.iloc[0]["best val/fid std"])


def test_the_cli_prints_mean_and_std_per_group(sweep, monkeypatch, capsys):
    assert run_cli(monkeypatch, sweep) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("5 runs in 2 rows by mean best val/fid (min)")
    assert out[1] == "the same in every run: trainer.max_epochs=2"
    assert out[2].split()[:4] == ["job", "model.lr_g", "n", "best"]
    assert "126.67 ± 25" in out[3] and "210 ± 14" in out[4]


def test_a_second_call_replaces_its_own_plot_and_nothing_else(sweep, monkeypatch, capsys):
    png = sweep / "compare_val_fid.png"
    assert run_cli(monkeypatch, sweep) == 0
    with Image.open(png) as image:
        assert image.info["Software"] == "flik-lab compare"
    first = capsys.readouterr().out
    write_run(sweep / "5", ["trainer.max_epochs=2", "model.lr_g=3e-4", "seed=1"], {"val/fid": [90.0]})
    assert run_cli(monkeypatch, sweep) == 0  # the sweep grew: the table and the plot follow
    second = capsys.readouterr().out
    assert second != first and second.splitlines()[-1] == f"flik-lab: wrote {png}"
    assert png.read_bytes().startswith(PNG_MAGIC)

    mine = sweep / "mine.png"
    mine.write_bytes(png.read_bytes().replace(b"flik-lab compare", b"someone elses pl"))
    before = mine.read_bytes()
    assert run_cli(monkeypatch, sweep, "--output", mine) == 2
    err = capsys.readouterr().err
    assert err.startswith("flik-lab: error: refusing to overwrite") and str(mine) in err
    assert len(err.splitlines()) == 1 and mine.read_bytes() == before

    notes = sweep / "notes.png"
    notes.write_text("not an image")
    assert run_cli(monkeypatch, sweep, "--output", notes) == 2
    assert notes.read_text() == "not an image"


def test_a_sweep_ends_with_the_table_compare_prints(sweep, monkeypatch, capsys):
    text = compare_table(sweep)
    assert run_cli(monkeypatch, sweep) == 0
    printed = capsys.readouterr().out.splitlines()
    assert text.splitlines() == printed[:-1]  # all but the line naming the plot
    assert not (sweep / "compare_table.png").exists()


def test_a_sweep_without_metrics_ends_without_a_table(tmp_path):
    write_run(tmp_path / "sweep" / "0", ["seed=1"])
    assert compare_table(tmp_path / "sweep") == ""


def test_a_long_error_is_cut_to_one_short_line(sweep):
    (sweep / "0" / "error.txt").write_text(f"Traceback ...\nRuntimeError: {'x' * 300}\n\n")
    status = compare_runs([sweep]).set_index("job").at["0", "status"]
    assert status.startswith("failed: RuntimeError: xxx") and status.endswith("…") and len(status) < 120


def test_a_tune_trial_keeps_its_log_lines_in_train_log(tmp_path):
    import logging

    from flik_lab.commands.tune import trial_log

    root = logging.getLogger()
    before = list(root.handlers)
    with trial_log(tmp_path / "trial_0"):
        logging.getLogger("flik_lab.callbacks.preemption").warning("interrupted by SIGTERM at epoch 1")
    logging.getLogger("flik_lab").warning("after the trial")
    assert root.handlers == before
    log = (tmp_path / "trial_0" / "train.log").read_text()
    assert "interrupted by SIGTERM at epoch 1" in log and "after the trial" not in log
