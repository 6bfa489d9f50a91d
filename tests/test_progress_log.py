"""Phases that run for minutes before training log their progress, and `debug=tiny` shortens them."""

import logging

import pytest
import torch

from flik_lab.metrics.domain_classifier import fit_domain_classifier
from flik_lab.models.semantic_consistency import fit_reader
from flik_lab.utils.progress_log import logged_epochs, logged_phase

from .helpers.config import compose_config

log = logging.getLogger("test_progress_log")


def _lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_epochs_log_their_start_then_at_most_every_interval_and_always_the_last(caplog):
    caplog.set_level(logging.INFO)
    assert list(logged_epochs(3, "fitting x", log, every_s=3600)) == [0, 1, 2]
    assert _lines(caplog)[0] == "fitting x: 3 epochs"
    assert len(_lines(caplog)) == 2 and _lines(caplog)[1].startswith("fitting x: epoch 3/3 (")
    caplog.clear()
    list(logged_epochs(2, "fitting y", log, every_s=0))
    first, last = _lines(caplog)[1:]
    assert first.startswith("fitting y: epoch 1/2 (") and "left)" in first and "left" not in last


def test_a_phase_logs_its_start_and_its_duration(caplog):
    caplog.set_level(logging.INFO)
    with logged_phase("tokenizing 3 reviews", log):
        pass
    assert _lines(caplog)[0] == "tokenizing 3 reviews ..."
    assert _lines(caplog)[1].startswith("tokenizing 3 reviews: done in ")


@pytest.mark.parametrize("fit", ["domain", "reader"])
def test_fitting_a_small_network_logs_its_epochs(fit, caplog):
    caplog.set_level(logging.INFO)
    images = torch.rand(20, 1, 28, 28) * 2 - 1
    if fit == "domain":
        fit_domain_classifier(images, -images, epochs=2, batch_size=8)
        what = "fitting the domain classifier on 20 + 20 real images"
    else:
        fit_reader(images, torch.arange(20) % 10, epochs=2, batch_size=8)
        what = "fitting a digit reader (small_cnn, seed 0) on 20 images"
    assert _lines(caplog)[0] == f"{what}: 2 epochs"
    assert _lines(caplog)[-1].startswith(f"{what}: epoch 2/2 (")


def test_debug_tiny_fits_each_network_for_one_epoch(tmp_path):
    def epochs(overrides: list[str]) -> tuple[int, int, int]:
        cfg = compose_config("train", tmp_path, ["experiment=cyclegan_digits", *overrides])
        scores = cfg.callbacks.style_transfer_scores
        return cfg.model.reader_epochs, scores.classifier_epochs, scores.reader_epochs

    assert epochs([]) == (30, 5, 30)
    assert epochs(["debug=tiny"]) == (1, 1, 1)
    assert epochs(["extras.fit_epochs=10"]) == (10, 5, 10)  # a cap: never more than a config's own
