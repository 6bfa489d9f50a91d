"""Pins the Lightning internals of `utils/lightning_internals.py` to the installed Lightning version."""

import pandas as pd
from lightning.pytorch.strategies import DDPStrategy

from flik_lab.training import train
from flik_lab.utils.lightning_internals import find_unused_parameters, logging_step

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
