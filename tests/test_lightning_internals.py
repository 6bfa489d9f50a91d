"""Pins the Lightning internals of `utils/lightning_internals.py` to the installed Lightning version."""

import lightning as L
import pandas as pd
import torch
from lightning.pytorch.loggers import CSVLogger, WandbLogger
from lightning.pytorch.strategies import DDPStrategy
from torch.utils.data import DataLoader, TensorDataset

from flik_lab.training import train
from flik_lab.utils.lightning_internals import (
    find_unused_parameters,
    logging_step,
    logs_this_batch,
    reads_back_spawned_weights,
    set_received_sigterm,
    without_anonymous_setting,
)

from .helpers.config import compose_config


def test_find_unused_parameters_reaches_the_ddp_wrapper_arguments():
    strategy = DDPStrategy()
    find_unused_parameters(strategy)
    assert strategy._ddp_kwargs["find_unused_parameters"] is True


def test_logging_step_is_the_step_lightning_writes_metrics_at(tmp_path):
    import lightning as L

    steps = []

    class Record(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            steps.append(logging_step(trainer))

    train(compose_config("train", tmp_path, ["debug=tiny", "test=false"]), extra_callbacks=[Record()])
    metrics = pd.read_csv(tmp_path / "csv" / "metrics.csv")
    assert steps == [
        4
    ]  # debug=tiny: 4 batches stepped (8 optimizer steps): the batch count, as Lightning's logging
    assert metrics["step"].max() == 3  # the last batch's scalars, written at steps 0..3


def test_logs_this_batch_is_true_on_the_batches_lightning_writes_metrics_after(tmp_path):
    seen = []

    class Linear(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            loss = self.layer(batch[0]).pow(2).mean()
            self.log("train/loss", loss)
            return loss

        def on_train_batch_end(self, outputs, batch, batch_idx):
            seen.append(logs_this_batch(self.trainer))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    trainer = L.Trainer(
        max_epochs=1,
        log_every_n_steps=2,
        logger=CSVLogger(tmp_path),
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(Linear(), DataLoader(TensorDataset(torch.randn(20, 2)), batch_size=4))
    written = set(pd.read_csv(next(tmp_path.rglob("metrics.csv")))["step"])
    assert [i for i, logs in enumerate(seen) if logs] == sorted(written) == [1, 3]


def test_set_received_sigterm_is_the_flag_the_loops_stop_on():
    trainer = L.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    set_received_sigterm(trainer, True)
    assert trainer.received_sigterm
    set_received_sigterm(trainer, False)
    assert not trainer.received_sigterm


def test_the_spawn_launcher_reads_back_its_weights_under_the_name_we_recognise():
    import inspect

    from lightning.fabric.plugins.environments import LightningEnvironment
    from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher as Launcher

    assert '".temp.ckpt"' in inspect.getsource(Launcher._collect_rank_zero_results)
    recover = inspect.getsource(Launcher._recover_results_in_main_process)
    assert "checkpoint_io.load_checkpoint(worker_output.weights_path)" in recover
    spawned = DDPStrategy(start_method="spawn", cluster_environment=LightningEnvironment())
    spawned._configure_launcher()
    assert reads_back_spawned_weights(spawned, "/tmp/x/.temp.ckpt")
    assert not reads_back_spawned_weights(spawned, "/tmp/x/last.ckpt")
    assert not reads_back_spawned_weights(DDPStrategy(), "/tmp/x/.temp.ckpt")


def test_wandb_init_gets_no_anonymous_setting(tmp_path):
    # what wandb >= 0.19 warns of on every run
    assert WandbLogger(offline=True, save_dir=tmp_path)._wandb_init["anonymous"] is None
    logger = without_anonymous_setting(WandbLogger(offline=True, save_dir=tmp_path))
    assert "anonymous" not in logger._wandb_init and logger._wandb_init["dir"] == str(tmp_path)
    kept = without_anonymous_setting(WandbLogger(offline=True, save_dir=tmp_path, anonymous=True))
    assert kept._wandb_init["anonymous"] == "allow"  # asked for: wandb's warning is the user's to see
