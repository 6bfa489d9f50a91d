"""Bad configs fail before training, with the offending key in the message."""

import subprocess
import sys

import pytest

from flik_lab.utils.config_schema import ConfigError, validate_config

from .helpers.config import compose_config


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("trainer.max_epochs=abc", "trainer.max_epochs"),
        ("model.lr_g=fast", "model.lr_g"),
        ("model.generator.width=wide", "model.generator.width"),
        ("+model.lrr=1", "lrr"),
        ("data.batch_size=1.5", "data.batch_size"),
        ("+trainer.max_epoch=3", "max_epoch"),
    ],
)
def test_wrong_type_or_unknown_key_names_the_key(override, key, tmp_path):
    cfg = compose_config("train", tmp_path, [override])
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate_config(cfg)


def test_missing_required_value_names_the_key(tmp_path):
    cfg = compose_config("train", tmp_path, ["data=mnist", "data.data_dir=???"])
    with pytest.raises(ConfigError, match=r"data\.data_dir"):
        validate_config(cfg)


def test_required_constructor_argument_absent_from_config(tmp_path):
    cfg = compose_config("train", tmp_path, ["data=mnist", "~data.data_dir"])
    with pytest.raises(ConfigError, match=r"data\.data_dir"):
        validate_config(cfg)


def test_unimportable_target_names_the_key(tmp_path):
    cfg = compose_config("train", tmp_path, ["model._target_=flik_lab.models.nope.GAN"])
    with pytest.raises(ConfigError, match=r"model\._target_"):
        validate_config(cfg)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["modle.lr=1"], "modle"),
        (["trainer.max_epochs=abc"], "trainer.max_epochs"),
        (["seed=abc"], "seed"),
    ],
)
@pytest.mark.multiprocess
def test_cli_exits_nonzero_before_training(args, needle, tmp_path):
    cmd = [sys.executable, "-m", "flik_lab.train", f"paths.log_dir={tmp_path}", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert needle in result.stderr + result.stdout
    assert not list(tmp_path.rglob("*.ckpt")) and not list(tmp_path.rglob("metrics.csv"))
