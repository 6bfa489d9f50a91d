"""Optional config groups: early stopping on the checkpointed metric, and this machine's `local` settings."""

import pytest
from omegaconf import OmegaConf

from flik_lab.training import train

from .helpers.config import compose_config


@pytest.mark.parametrize(
    ("experiment", "monitor", "mode"), [("gan_mnist5k", "val/fid", "min"), ("imdb_lstm", "val/acc", "max")]
)
def test_early_stopping_follows_the_checkpointed_metric(experiment, monitor, mode, tmp_path):
    cfg = compose_config("train", tmp_path, [f"experiment={experiment}", "early_stopping=default"])
    stopping = OmegaConf.to_container(cfg.callbacks.early_stopping, resolve=True)
    assert (stopping["monitor"], stopping["mode"], stopping["patience"]) == (monitor, mode, 3)
    assert "early_stopping" not in compose_config("train", tmp_path).callbacks


def test_early_stopping_stops_a_run(tmp_path):
    # min_delta of 1e9: no validation counts as an improvement, so patience 1 stops after epoch 1
    overrides = [
        "debug=tiny",
        "trainer.max_epochs=5",
        "early_stopping=default",
        "test=false",
        "callbacks.early_stopping.patience=1",
        "callbacks.early_stopping.min_delta=1e9",
    ]
    train(compose_config("train", tmp_path, overrides))
    import torch

    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 1


@pytest.mark.parametrize("command", ["train", "eval", "sample"])
def test_local_settings_apply_to_every_command(command, tmp_path):
    local = tmp_path / "my_conf" / "local"
    local.mkdir(parents=True)
    (local / "default.yaml").write_text("# @package _global_\npaths:\n  data_dir: /scratch/datasets\n")
    searchpath = f"hydra.searchpath=[file://{tmp_path / 'my_conf'}]"
    extra = [] if command == "train" else ["ckpt_path=x.ckpt"]
    cfg = compose_config(command, tmp_path, [searchpath, *extra])
    assert cfg.paths.data_dir == "/scratch/datasets"
    cfg = compose_config(command, tmp_path, [searchpath, "~local", *extra])
    assert cfg.paths.data_dir != "/scratch/datasets"


@pytest.mark.parametrize("debug", ["fdr", "limit", "overfit", "profiler", "tiny"])
def test_debug_runs_live_apart_from_real_ones_in_the_same_layout(debug):
    from hydra import compose, initialize_config_module

    from flik_lab.utils.conf import CONF_MODULE

    def dirs(overrides: list[str]) -> tuple[str, str]:
        """The run and sweep folders below `paths.log_dir`, without the time."""
        with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
            cfg = compose("train", overrides=["paths.log_dir=logs", *overrides], return_hydra_config=True)
        return cfg.hydra.run.dir.rsplit("/", 1)[0], cfg.hydra.sweep.dir.rsplit("/", 1)[0]

    assert dirs([]) == ("logs/train/runs", "logs/train/multiruns")
    assert dirs([f"debug={debug}"]) == ("logs/train/debug/runs", "logs/train/debug/multiruns")


def test_debug_limit_works_on_a_split_of_one_batch(tmp_path):
    # val and test of the shipped digits are one batch each (eval_batch_size 500): 10 % of it was none
    metrics = train(compose_config("train", tmp_path, ["debug=limit", "trainer.max_epochs=1"]))
    assert "val/fid" in metrics and "test/fid" in metrics
