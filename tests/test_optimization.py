"""Optimizers and learning-rate schedules are config: `_partial_` nodes, validated, swept, stepped."""

import pytest
import torch

from flik_lab.models.optimization import warmup_cosine, warmup_linear
from flik_lab.training import train
from flik_lab.utils.config_schema import ConfigError

from .helpers.config import compose_config
from .helpers.text import small_lstm, write_reviews


def _lrs(schedule, steps: int, **kwargs) -> list[float]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = schedule(optimizer, total_steps=steps, **kwargs)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs + [optimizer.param_groups[0]["lr"]]


def test_warmup_then_cosine_or_linear_decay():
    cosine = _lrs(warmup_cosine, 10, warmup_steps=2, min_lr_ratio=0.1)
    assert cosine[:3] == pytest.approx([0.5, 1.0, 1.0])
    assert cosine[6] == pytest.approx(0.1 + 0.9 * 0.5)  # half way through the decay
    assert cosine[-1] == pytest.approx(0.1)
    linear = _lrs(warmup_linear, 10, min_lr_ratio=0.0)
    assert linear == pytest.approx([1 - i / 10 for i in range(11)])
    with pytest.raises(ValueError, match="warmup_steps=20"):
        _lrs(warmup_cosine, 10, warmup_steps=20)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["gan", "gan_max_steps", "text"])
def test_a_configured_schedule_is_stepped_every_batch(family, tmp_path):
    base = ["debug=tiny", "test=false", "scheduler=warmup_linear", "model.scheduler.warmup_steps=1"]
    batches = 4  # debug=tiny
    if family == "gan_max_steps":  # max_steps counts optimizer steps: two per GAN batch
        base, batches = [*base, "+trainer.max_steps=6"], 3
    if family == "text":
        write_reviews(tmp_path, 120, 20, median_words=10)
        base += [
            *small_lstm(tmp_path, 20),
            "data.batch_size=16",
            "data.vocab_size=200",
            "model.optimizer._target_=torch.optim.Adam",
            "~model.optimizer.weight_decay",
        ]
    train(compose_config("train", tmp_path / "run", base))
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    schedulers = ckpt["lr_schedulers"]
    assert len(schedulers) == (1 if family == "text" else 2)  # the GAN's two optimizers each have one
    for state, optimizer in zip(schedulers, ckpt["optimizer_states"], strict=True):
        assert state["last_epoch"] == batches  # one step a batch
        assert optimizer["param_groups"][0]["lr"] == pytest.approx(
            0.0
        )  # decayed to min_lr_ratio 0 at the end


def test_an_optimizer_node_is_validated_like_any_other(tmp_path):
    # SGD has no `betas`: the swapped optimizer keeps Adam's argument, and the key is named
    with pytest.raises(ConfigError, match="model.optimizer_g.betas"):
        train(compose_config("train", tmp_path, ["debug=tiny", "model.optimizer_g._target_=torch.optim.SGD"]))
    with pytest.raises(ConfigError, match="model.scheduler.warmup"):
        train(
            compose_config(
                "train", tmp_path, ["debug=tiny", "scheduler=warmup_cosine", "+model.scheduler.warmup=3"]
            )
        )
