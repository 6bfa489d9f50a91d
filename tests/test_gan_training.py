"""End to end on the shipped digits: train writes checkpoints, samples and FID; eval and sample reuse them."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from flik_lab.commands.eval import evaluate
from flik_lab.commands.sample import sample
from flik_lab.images import unit_grid
from flik_lab.training import train
from flik_lab.utils.errors import InputError

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config
from .helpers.wandb_files import run_records

pytestmark = pytest.mark.slow


def _metrics(run) -> list[dict]:
    with open(run / "csv" / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_train_writes_checkpoints_samples_and_fid(trained_gan):
    assert (trained_gan / "checkpoints" / "last.ckpt").is_file()
    assert list((trained_gan / "checkpoints").glob("epoch_*.ckpt")), "best checkpoint missing"
    grid = Image.open(trained_gan / "samples" / "epoch_000.png")
    assert grid.size == (8 * 30 + 2, 8 * 30 + 2)  # 8x8 digits of 28 px with 2 px padding
    rows = _metrics(trained_gan)
    fids = [float(r["val/fid"]) for r in rows if r.get("val/fid")]
    assert fids and all(np.isfinite(fids))
    steps = [int(r["step"]) for r in rows if r.get("train/loss_d")]
    assert max(steps) <= 4  # steps are counted in batches (debug=tiny: 4), not optimizer steps (8)
    assert any(r.get("test/fid") for r in rows)
    assert list((trained_gan / "tensorboard").glob("events.out.tfevents.*"))


def test_checkpoint_holds_its_config_and_loads_weights_only(trained_gan):
    ckpt = torch.load(trained_gan / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["flik_lab"]["model"]["_target_"] == "flik_lab.models.gan.GAN"
    assert ckpt["flik_lab"]["data"]["_target_"].endswith("MNIST5kDataModule")


def test_eval_reports_test_fid(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    cfg = compose_config("eval", tmp_path, [f"ckpt_path={ckpt}", "debug=tiny"])
    metrics = evaluate(cfg)
    assert metrics["test/fid"] > 0
    assert (tmp_path / "metrics.json").is_file()


def test_sample_png_and_npz(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    overrides = [f"ckpt_path={ckpt}", "num_samples=10"]
    cfg = compose_config("sample", tmp_path / "run", [*overrides, f"output={tmp_path / 's.npz'}"])
    sample(cfg)
    array = np.load(tmp_path / "s.npz")["samples"]
    assert array.shape == (10, 1, 28, 28) and array.dtype == np.uint8
    assert Image.open(tmp_path / "s.png").size == (4 * 30 + 2, 3 * 30 + 2)  # about square: 4 a row
    again = tmp_path / "again"
    sample(compose_config("sample", again, overrides))  # by default into the run directory
    assert torch.equal(torch.load(again / "samples.latents.pt"), torch.load(tmp_path / "s.latents.pt"))
    with pytest.raises(FileExistsError, match="s.npz"):
        sample(cfg)  # never overwrites
    with pytest.raises(InputError, match="nrow=0"):
        sample(compose_config("sample", tmp_path / "bad", [*overrides, "nrow=0"]))


@pytest.mark.parametrize(
    ("count", "nrow", "size"), [(5000, None, (71 * 3 + 2, 71 * 3 + 2)), (10, 5, (17, 8))]
)
def test_grid_shape_follows_the_count_unless_nrow_is_given(count, nrow, size):
    grid = unit_grid(torch.zeros(count, 1, 1, 1), nrow)  # 1 px images, 2 px apart
    assert (grid.shape[2], grid.shape[1]) == size


def test_eval_rejects_missing_and_foreign_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        evaluate(compose_config("eval", tmp_path, [f"ckpt_path={tmp_path}/nope.ckpt"]))
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(ValueError, match="not written by `flik-lab train`"):
        evaluate(compose_config("eval", tmp_path, [f"ckpt_path={foreign}"]))


def test_bf16_mixed_on_cpu(tmp_path):
    overrides = ["debug=tiny", "trainer.precision=bf16-mixed", "test=false", "trainer.limit_train_batches=2"]
    cfg = compose_config("train", tmp_path, overrides)
    metrics = train(cfg)
    assert np.isfinite(metrics["train/loss_g"]) and np.isfinite(metrics["val/fid"])


def test_gradient_clipping_by_the_module(tmp_path):
    cfg = compose_config("train", tmp_path, ["debug=tiny", "model.grad_clip_norm=0.5", "test=false"])
    assert np.isfinite(train(cfg)["train/loss_d"])


def test_wandb_offline_run_leaves_its_files(tmp_path):
    import wandb

    from flik_lab.utils.finish import finish_wandb

    overrides = ["debug=tiny", "logger=[csv,wandb]", "test=false", "logger.wandb.name=offline-check"]
    cfg = compose_config("train", tmp_path, overrides)
    train(cfg)
    config = dict(wandb.run.config)
    assert config["model"]["generator"]["_target_"] == "flik_lab.models.dcgan.Generator"  # nested
    assert wandb.run.name == "offline-check" and wandb.run.settings.mode in ("offline", "dryrun")
    finish_wandb(failed=False)
    assert wandb.run is None
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    run_file = run_records(
        runs[0], b"flik_lab.models.dcgan.Generator", b"val/fid"
    )  # what `wandb sync` uploads
    assert b"flik_lab.models.dcgan.Generator" in run_file and b"val/fid" in run_file
    assert list((runs[0] / "files" / "media" / "images").glob("samples_*.png"))


@pytest.mark.multiprocess
def test_console_script_sample_writes_a_relative_output_where_it_runs(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    logs = tmp_path / "logs"
    args = [f"ckpt_path={ckpt}", "output=mine/cli.npz", "num_samples=5", "nrow=5", f"paths.log_dir={logs}"]
    result = run_flik_lab(tmp_path, "sample", *args, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mine" / "cli.npz").is_file() and "wrote mine/cli.npz" in result.stdout
    assert Image.open(tmp_path / "mine" / "cli.png").size == (5 * 30 + 2, 30 + 2)
    assert not list(logs.rglob("cli.*"))  # the run directory holds only Hydra's files


def test_failed_job_finishes_its_wandb_run(tmp_path):
    import wandb

    from flik_lab.utils.finish import finished_runs

    cfg = compose_config("train", tmp_path, ["debug=tiny", "logger=[csv,wandb]", "data.batch_size=5000"])
    with pytest.raises(ValueError, match="batch_size=5000"), finished_runs():
        train(cfg)  # the W&B run starts, then the data set is too small for the batch size
    assert wandb.run is None


def test_resume_and_refuse_to_overwrite(trained_gan, tmp_path):
    with pytest.raises(FileExistsError, match="already holds checkpoints"):
        train(compose_config("train", trained_gan, ["debug=tiny"]))
    resumed = tmp_path / "resumed"
    last = trained_gan / "checkpoints" / "last.ckpt"
    overrides = ["debug=tiny", "trainer.max_epochs=2", f"ckpt_path={last}", "test=false"]
    cfg = compose_config("train", resumed, overrides)
    train(cfg)
    epochs = {int(r["epoch"]) for r in _metrics(resumed) if r.get("val/fid")}
    assert epochs == {1}  # continued with the second epoch, not from scratch


def test_touch_mode_takes_the_same_steps_as_toggling(tmp_path):
    """`unused_parameters=touch` (for DDP without the unused-parameter search) changes no update."""

    weights = {}
    for mode in ("find", "touch"):
        run = tmp_path / mode
        overrides = ["debug=tiny", f"model.unused_parameters={mode}", "test=false", "seed=3"]
        train(compose_config("train", run, overrides))
        weights[mode] = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    for key, value in weights["find"].items():
        if key.startswith(("generator.", "discriminator.")):
            assert torch.allclose(value.float(), weights["touch"][key].float(), atol=1e-6), key
