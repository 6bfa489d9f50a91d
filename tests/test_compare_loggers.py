"""`flik-lab compare` reads what any logger wrote: CSV, TensorBoard event files or an offline W&B run."""

import shutil

import pytest

from flik_lab.commands.compare import compare_runs
from flik_lab.loggers.run_metrics import read_csv, read_tensorboard, read_wandb
from flik_lab.training import train
from flik_lab.utils.finish import finish_wandb

from .helpers.config import compose_config


@pytest.fixture(scope="module")
def logged_three_ways(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    train(compose_config("train", run, ["debug=tiny", "trainer.max_epochs=2", "logger=many", "test=false"]))
    finish_wandb(failed=False)  # writes the offline run file to its end
    (run / ".hydra").mkdir()
    (run / ".hydra" / "overrides.yaml").write_text("- trainer.max_epochs=2\n")
    return run


def test_the_three_readers_agree(logged_three_ways):
    fids = [
        reader(logged_three_ways).dropna(subset=["val/fid"])
        for reader in (read_csv, read_tensorboard, read_wandb)
    ]
    for frame in fids:
        assert frame["epoch"].tolist() == [0, 1] and frame["step"].tolist() == fids[0]["step"].tolist()
        assert frame["val/fid"].tolist() == pytest.approx(fids[0]["val/fid"].tolist(), rel=1e-6)


@pytest.mark.parametrize("remove", [["csv"], ["csv", "tensorboard"]])
def test_compare_falls_back_to_tensorboard_then_wandb(remove, logged_three_ways, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(logged_three_ways, run)
    for folder in remove:
        shutil.rmtree(run / folder)
    table = compare_runs([run])
    assert table["status"].tolist() == ["ok"] and table["best epoch"].tolist()[0] in (0, 1)
    expected = read_csv(logged_three_ways)["val/fid"].min()
    assert table["best val/fid"].iloc[0] == pytest.approx(expected, rel=1e-6)


def test_tensorboard_hparams_hold_the_best_monitored_value(logged_three_ways):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logged_three_ways / "tensorboard"))
    events.Reload()
    assert "_hparams_/experiment" in events.PluginTagToContent("hparams")  # what the HPARAMS tab reads
    (best,) = events.Scalars("best/val/fid")
    assert best.value == pytest.approx(read_csv(logged_three_ways)["val/fid"].min(), rel=1e-6)
