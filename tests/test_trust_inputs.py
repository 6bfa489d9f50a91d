"""Small promises of issue 8: fast_dev_run tests too, eval agrees with training's test, bad inputs named."""

import pandas as pd
import pytest

from flik_lab.commands.eval import evaluate
from flik_lab.data.imdb import IMDBDataModule
from flik_lab.data.reviews.synthetic import generate_reviews, write_parquet
from flik_lab.training import train
from flik_lab.utils.config_schema import ConfigError

from .helpers.config import compose_config


def test_fast_dev_run_runs_the_test_loop_and_writes_no_checkpoint(tmp_path):
    metrics = train(compose_config("train", tmp_path, ["debug=fdr"]))
    assert "test/fid" in metrics
    assert not list(tmp_path.rglob("*.ckpt"))


@pytest.mark.slow
def test_eval_reproduces_the_test_fid_of_training(trained_gan, tmp_path):
    test_fid = pd.read_csv(trained_gan / "csv" / "metrics.csv")["test/fid"].dropna().item()
    (best,) = (trained_gan / "checkpoints").glob("epoch_*.ckpt")  # what training tested
    overrides = [f"ckpt_path={best}", "debug=tiny"]
    first = evaluate(compose_config("eval", tmp_path / "a", overrides))
    second = evaluate(compose_config("eval", tmp_path / "b", ["seed=123", *overrides]))
    assert first["test/fid"] == pytest.approx(
        test_fid, rel=1e-6
    )  # weights and eval_seed decide, nothing else
    assert second["test/fid"] == first["test/fid"]


def test_resuming_from_a_file_that_is_not_a_checkpoint_names_it(tmp_path):
    bogus = tmp_path / "notes.ckpt"
    bogus.write_text("not a checkpoint")
    with pytest.raises(ValueError, match=f"ckpt_path={bogus}"):
        train(compose_config("train", tmp_path / "run", ["debug=tiny", f"ckpt_path={bogus}"]))
    assert not (tmp_path / "run").exists()  # refused before anything was built or written


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("model.lr_g=-1", "model.lr_g"),
        ("+model.optimizer_g.lr=0.1", "model.optimizer_g.lr"),
        ("model.latent_dim=0", "model.latent_dim"),
        ("model.nonfinite_loss=ignore", "model.nonfinite_loss"),
    ],
)
def test_out_of_range_model_arguments_name_their_key(override, key, tmp_path):
    with pytest.raises(ConfigError, match=f"invalid config value '{key}'"):
        train(compose_config("train", tmp_path, ["debug=tiny", override]))


def test_a_training_split_with_one_class_is_refused(tmp_path):
    positive = [(text, 1) for text, _ in generate_reviews(60, seed=0, median_words=10)]
    write_parquet(tmp_path, positive, generate_reviews(10, seed=1, median_words=10))
    data = IMDBDataModule(str(tmp_path), source="parquet", val_size=10, vocab_size=100)
    with pytest.raises(
        ValueError, match=r"train split in .* holds labels \[1\]; a sentiment classifier needs"
    ):
        data.prepare_data()
