"""A diverging run stops with an error naming the step and metric or weight (or skips such steps when asked,
without a trace), never writes diverged weights over a good checkpoint, and an FID of NaN features is an
error, not a crash."""

import lightning as L
import pandas as pd
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from flik_lab.callbacks.divergence import DivergedWeightsError, NonFiniteMetricError, StopOnDivergence
from flik_lab.metrics.fid import mnist_fid
from flik_lab.models.finite_loss import NonFiniteLossError
from flik_lab.training import train

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config
from .helpers.text import small_lstm, write_reviews
from .helpers.translation import TINY_TRANSLATION

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def text_run(tmp_path_factory) -> list[str]:
    data_dir = tmp_path_factory.mktemp("imdb")
    write_reviews(data_dir, 200, 40, median_words=20)
    return [
        "debug=tiny",
        *small_lstm(data_dir, 40),
        "data.batch_size=16",
        "data.vocab_size=300",
        "test=false",
    ]


class PoisonWeights(L.Callback):
    """Sets the embedding to NaN after training batch `batch` (the last one of the epoch by default)."""

    def __init__(self, batch: int | None = None):
        self.batch = batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == (trainer.num_training_batches - 1 if self.batch is None else self.batch):
            with torch.no_grad():
                pl_module.embedding.weight.fill_(float("nan"))


def test_a_nan_loss_stops_the_run_naming_step_and_metric(text_run, tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"train/loss = nan at epoch 0, batch 2, global step 2"):
        train(compose_config("train", tmp_path, text_run), extra_callbacks=[PoisonWeights(batch=1)])
    assert not list(tmp_path.rglob("*.ckpt"))  # nothing saved from a diverged model


def test_a_diverging_gan_stops_the_run(tmp_path):
    # lr 1e30 sends the discriminator's logits to infinity within a step: the losses become NaN
    with pytest.raises(NonFiniteLossError, match=r"train/loss_[dg] = nan at epoch 0, batch 0"):
        train(compose_config("train", tmp_path, ["debug=tiny", "model.lr_d=1e30", "test=false"]))
    assert not list(tmp_path.rglob("*.ckpt"))


class NanLossOnce(L.Callback):
    """Makes batch `batch`'s loss NaN (a NaN output bias for one forward pass), then restores the bias."""

    def __init__(self, batch: int):
        self.batch, self.saved = batch, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.batch:
            self.saved = pl_module.head.bias.detach().clone()
            with torch.no_grad():
                pl_module.head.bias.fill_(float("nan"))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.batch:
            with torch.no_grad():
                pl_module.head.bias.copy_(self.saved)


def test_skip_policy_skips_the_non_finite_step_and_goes_on(text_run, tmp_path):
    cfg = compose_config("train", tmp_path, [*text_run, "model.nonfinite_loss=skip"])
    train(cfg, extra_callbacks=[NanLossOnce(batch=1)])
    metrics = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    assert metrics["train/skipped_steps"].max() == 1
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert all(torch.isfinite(w).all() for w in ckpt["state_dict"].values() if w.is_floating_point())


def test_nan_weights_never_overwrite_a_good_checkpoint(text_run, tmp_path):
    train(compose_config("train", tmp_path, text_run))
    checkpoints = sorted((tmp_path / "checkpoints").iterdir())
    before = {p.name: p.read_bytes() for p in checkpoints}
    resume = [f"ckpt_path={tmp_path}/checkpoints/last.ckpt", "trainer.max_epochs=2"]
    with pytest.raises(DivergedWeightsError, match="embedding.weight"):
        train(compose_config("train", tmp_path, [*text_run, *resume]), extra_callbacks=[PoisonWeights()])
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "checkpoints").iterdir())} == before


@pytest.mark.multiprocess
def test_exploding_weights_with_a_finite_loss_stop_the_command(tmp_path):
    # one AdamW step at lr 1e30 puts 1e30 in every weight while the loss that took it is finite; the
    # validation after it has val/loss ~5e30 and val/perplexity = inf
    overrides = [*TINY_TRANSLATION, f"data.data_dir={tmp_path / 'numbers'}", "model.lr=1e30"]
    result = run_flik_lab(tmp_path, "train", *overrides, f"hydra.run.dir={tmp_path / 'run'}")
    assert result.returncode == 1, result.stdout + result.stderr
    named = "flik-lab: run diverged: stopping at epoch 0, global step 1: weights NaN, infinite or beyond"
    assert named in result.stderr and "network.source_embedding.weight (max |w| 1e+30)" in result.stderr
    assert "Traceback" not in result.stderr  # one line, as every error the command reports
    assert not list(tmp_path.rglob("*.ckpt"))


class OwnModel(L.LightningModule):
    """A model of one's own that checks nothing itself: its loss turns NaN at batch `nan_at`, its
    `val/perplexity` is `perplexity`."""

    def __init__(self, nan_at: int | None = None, perplexity: float = 2.0):
        super().__init__()
        self.layer = nn.Linear(2, 1)
        self.nan_at, self.perplexity = nan_at, perplexity

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        loss = self.layer(batch[0]).pow(2).mean() * (float("nan") if batch_idx == self.nan_at else 1.0)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx: int) -> None:
        self.log("val/perplexity", torch.tensor(self.perplexity))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.parametrize(
    ("model", "named"),
    [
        (OwnModel(nan_at=2), r"train/loss = nan at epoch 0, global step 3"),
        (OwnModel(perplexity=float("inf")), r"val/perplexity = inf at epoch 0, global step 4"),
    ],
)
def test_any_model_stops_on_a_non_finite_metric(model, named, tmp_path):
    data = DataLoader(TensorDataset(torch.randn(16, 2)), batch_size=4)
    trainer = L.Trainer(
        default_root_dir=tmp_path,
        max_epochs=1,
        log_every_n_steps=1,
        callbacks=[StopOnDivergence(), L.pytorch.callbacks.ModelCheckpoint(tmp_path / "checkpoints")],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    with pytest.raises(NonFiniteMetricError, match=named):
        trainer.fit(model, train_dataloaders=data, val_dataloaders=data)
    assert not list(tmp_path.rglob("*.ckpt"))


class NanBatch(L.Callback):
    """Makes training batch `batch`'s images NaN; keeps the module's whole state from before and after it."""

    def __init__(self, batch: int):
        self.batch, self.before, self.after = batch, {}, {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.batch:
            self.before = {k: v.clone() for k, v in pl_module.state_dict().items()}
            batch[0].fill_(float("nan"))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if batch_idx == self.batch:
            self.after = {k: v.clone() for k, v in pl_module.state_dict().items()}


def test_a_skipped_gan_batch_leaves_no_trace(tmp_path):
    nan_batch = NanBatch(batch=1)
    overrides = ["debug=tiny", "model.nonfinite_loss=skip", "test=false"]
    train(compose_config("train", tmp_path, overrides), extra_callbacks=[nan_batch])
    # D's running statistics would hold the NaN; G's, the EMA's and every weight are as before the batch
    assert any(key.endswith("running_var") for key in nan_batch.before)
    changed = [k for k, v in nan_batch.before.items() if not torch.equal(v, nan_batch.after[k])]
    assert changed == []
    metrics = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    assert metrics["train/skipped_steps"].max() == 2  # D's step, and G's after it in the batch
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] == 2 * 4 - 2  # the run went on: the 3 other batches' steps
    assert all(torch.isfinite(w).all() for w in ckpt["state_dict"].values() if w.is_floating_point())


def test_fid_of_nan_images_is_an_error():
    fid = mnist_fid()
    images = torch.rand(8, 1, 28, 28) * 2 - 1
    fid.update(images, real=True)
    fid.update(torch.full_like(images, float("nan")), real=False)
    with pytest.raises(FloatingPointError, match="non-finite image features in fake_features_sum"):
        fid.compute()


@pytest.mark.multiprocess
def test_eval_of_a_nan_generator_reports_instead_of_crashing(trained_gan, tmp_path):
    ckpt = torch.load(trained_gan / "checkpoints" / "last.ckpt", weights_only=True)
    for name, value in ckpt["state_dict"].items():
        if name.startswith(("generator.", "generator_ema.")) and value.is_floating_point():
            value.fill_(float("nan"))
    torch.save(ckpt, tmp_path / "nan.ckpt")
    eval_dir = f"hydra.run.dir={tmp_path / 'eval'}"
    result = run_flik_lab(tmp_path, "eval", f"ckpt_path={tmp_path / 'nan.ckpt'}", "debug=tiny", eval_dir)
    assert result.returncode == 2, result.returncode  # refused by the checkpoint reader, not a crash
    assert "holds NaN or infinite values" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.multiprocess
def test_a_sweep_goes_on_after_a_diverged_job(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_flik_lab(
        tmp_path, "train", "-m", "model.lr_d=1e30,6e-4", "debug=tiny", f"hydra.sweep.dir={sweep}"
    )
    assert result.returncode == 1
    assert "1 of 2 jobs failed" in result.stdout and "NonFiniteLossError" in result.stdout
    assert (sweep / "0" / "error.txt").is_file()
    assert (sweep / "1" / "checkpoints" / "last.ckpt").is_file()  # the next job ran
