"""CycleGAN end to end on the digit domains: the scores can tell a translator from a copier, a short run
trains and is tested, `stylize` reads its checkpoint, and bad inputs are named."""

import pytest
import torch
from PIL import Image
from torchmetrics import MeanMetric

from flik_lab.callbacks.style_transfer_scores import StyleTransferScores
from flik_lab.commands.stylize import stylize
from flik_lab.data.typeset_digits import render_typeset_digits
from flik_lab.data.unpaired import UnpairedImageDataModule
from flik_lab.images import to_unit_range
from flik_lab.metrics.domain_classifier import domain_accuracy
from flik_lab.training import train
from flik_lab.utils.arguments import ArgumentError

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config

pytestmark = pytest.mark.slow

TINY = [
    "experiment=cyclegan_digits",
    "debug=tiny",
    "trainer.limit_train_batches=2",
    "model.generator_ab.width=8",
    "model.generator_ab.num_blocks=1",
    "model.discriminator_a.width=8",
    "model.lambda_semantic=1",  # CyCADA's terms through the real DataModule and cache
    "model.reader_epochs=1",
    "data.val_size=100",
    "data.test_size=100",
    "data.eval_batch_size=50",
    "callbacks.style_transfer_scores.reader_epochs=2",
]
READER_EPOCHS = 2  # the scoring readers' in these tests (30 in the experiment), shared through the cache


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One data directory: the domain classifier fitted for the score test is the training run's, cached."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def digits(data_dir) -> UnpairedImageDataModule:
    data = UnpairedImageDataModule(
        source="digits", data_dir=str(data_dir), val_size=100, test_size=100, eval_batch_size=50
    )
    data.setup()
    return data


class Copier(torch.nn.Module):
    """A "translator" that returns its input: content kept, style never reached."""

    def forward(self, images, direction="a2b"):
        return images


class Renderer(torch.nn.Module):
    """A translator that knows the answer: the typeset rendering of each handwritten digit's label."""

    def __init__(self, labels):
        super().__init__()
        self.labels = labels

    def forward(self, images, direction="a2b"):
        rendered = render_typeset_digits(self.labels[: len(images)].tolist(), seed=99)
        return to_unit_range(torch.from_numpy(rendered))


def _scores(data, translator, batches, outputs=None) -> dict[str, float]:
    scores = StyleTransferScores(fid=False, reader_epochs=READER_EPOCHS)
    trainer = type("T", (), {"datamodule": data})()
    scores.setup(trainer, translator, "test")
    translator.device = torch.device("cpu")
    scores._prepare(trainer, translator)
    for batch, output in zip(batches, outputs or [None] * len(batches), strict=True):
        scores._update(translator, batch, output)
    return {name: float(metric.compute()) for name, metric in scores.scores.items()}


class Inverter(torch.nn.Module):
    """A translator whose output is not its input (so scoring the step's outputs can be told apart)."""

    def forward(self, images, direction="a2b"):
        return -images


def test_the_scores_use_the_steps_translations_when_given(digits):
    batches = list(digits.test_dataloader())[:1]
    translated = _scores(digits, Copier(), batches)
    given = [{"fake_b": -b["a"], "fake_a": -b["b"]} for b in batches]  # what Inverter would have made
    assert _scores(digits, Copier(), batches, given) == _scores(digits, Inverter(), batches)
    assert _scores(digits, Copier(), batches, given) != translated


def test_the_domain_classifier_tells_real_digits_apart_and_the_style_score_can_fail(digits):
    batches = list(digits.test_dataloader())
    copier = _scores(digits, Copier(), batches)
    assert copier["style_a2b"] < 0.15 and copier["style_b2a"] < 0.15, copier  # a copy stays in its domain
    renderer = _scores(digits, Renderer(batches[0]["label_a"]), batches[:1])
    assert renderer["style_a2b"] > 0.9, renderer
    scores = StyleTransferScores(fid=False, reader_epochs=None)
    scores.setup(type("T", (), {"datamodule": digits})(), None, "test")
    test_a, test_b = (torch.cat([b[d][b[f"valid_{d}"]] for b in digits.test_dataloader()]) for d in "ab")
    assert domain_accuracy(scores.classifier, test_a, test_b) > 0.9  # held-out real digits (0.96 measured)


def _handwritten(data, labels: torch.Tensor) -> torch.Tensor:
    """For each label, a real handwritten training digit of that class."""
    images, known = data.labelled_train_images("a")
    return torch.stack([images[(known == label).nonzero()[0, 0]] for label in labels.tolist()])


def test_the_target_readers_score_a_translation_that_reached_the_other_domains_digit(digits):
    batches = list(digits.test_dataloader())[:1]
    label_a, label_b = batches[0]["label_a"], batches[0]["label_b"]

    def typeset(labels):
        return to_unit_range(torch.from_numpy(render_typeset_digits(labels.tolist(), seed=99)))

    right = [{"fake_b": typeset(label_a), "fake_a": _handwritten(digits, label_b)}]
    wrong = [{"fake_b": typeset((label_a + 1) % 10), "fake_a": _handwritten(digits, (label_b + 1) % 10)}]
    good, bad = _scores(digits, Copier(), batches, right), _scores(digits, Copier(), batches, wrong)
    assert good["content_a2b_target"] > 0.9 and good["content_b2a_target"] > 0.9, good
    assert bad["content_a2b_target"] < 0.1 and bad["content_b2a_target"] < 0.1, bad
    assert StyleTransferScores(reader_epochs=None).readers == {}
    with pytest.raises(ArgumentError, match="reader_epochs"):
        StyleTransferScores(reader_epochs=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_dir, digits):
    run_dir = tmp_path_factory.mktemp("cyclegan")
    metrics = train(compose_config("train", run_dir, [*TINY, f"paths.data_dir={data_dir}"]))
    return run_dir, metrics


def test_a_short_run_is_scored_in_both_directions(trained, data_dir):
    run_dir, metrics = trained
    # A's six readers for training (the experiment's small CNNs and LeNets at seeds 0, 2, 3; 1 epoch), fitted
    # once and cached, and the two scoring ones (2 epochs, seed 1)
    assert len(list(data_dir.rglob("label_classifier-*.pt"))) == 8
    names = ("cycle_l1", "content_a2b", "content_b2a", "style_a2b", "style_b2a", "fid_a2b", "fid_b2a")
    for name in (*names, "content_a2b_target", "content_b2a_target"):
        assert f"test/{name}" in metrics and metrics[f"test/{name}"] == metrics[f"test/{name}"], name
    four = [metrics[f"test/{kind}_{d}"] for kind in ("content", "style") for d in ("a2b", "b2a")]
    assert metrics["test/weakest"] == pytest.approx(min(four))
    assert [p.name for p in (run_dir / "translations").iterdir()] == ["epoch_000.png"]
    with Image.open(run_dir / "translations" / "epoch_000.png") as grid:  # 6 rows of 8 digits, 2 px apart
        assert grid.size == (8 * 30 + 2, 6 * 30 + 2)


def test_stylize_writes_each_translation_and_a_grid(trained, tmp_path):
    run_dir, _ = trained
    inputs = tmp_path / "typeset"
    inputs.mkdir()
    for i, image in enumerate(render_typeset_digits([3, 1, 4], seed=7)):
        Image.fromarray(image).resize((56, 56)).save(inputs / f"digit_{i}.png")  # resized to 28 by stylize
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    result = run_flik_lab(
        tmp_path,
        "stylize",
        f"ckpt_path={ckpt}",
        f"input={inputs}",
        "direction=b2a",
        f"hydra.run.dir={tmp_path / 'out'}",
    )
    assert result.returncode == 0, result.stderr
    for i in range(3):
        with Image.open(tmp_path / "out" / "stylized" / f"digit_{i}.png") as image:
            assert image.size == (28, 28)
    assert (tmp_path / "out" / "stylized_grid.png").is_file()


def _stylize(tmp_path, ckpt, *overrides):
    return stylize(compose_config("stylize", tmp_path, [f"ckpt_path={ckpt}", *overrides]))


def test_stylize_names_bad_inputs(trained, trained_gan, tmp_path):
    run_dir, _ = trained
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        _stylize(tmp_path, ckpt, f"input={tmp_path / 'nowhere'}")
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture")
    with pytest.raises(ValueError, match=f"{fake} is not a readable image"):
        _stylize(tmp_path, ckpt, f"input={fake}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no images"):
        _stylize(tmp_path, ckpt, f"input={tmp_path / 'empty'}")
    real = tmp_path / "real.png"
    Image.fromarray(render_typeset_digits([5])[0]).save(real)
    with pytest.raises(ValueError, match="direction='sideways'"):
        _stylize(tmp_path, ckpt, f"input={real}", "direction=sideways")
    gan = trained_gan / "checkpoints" / "last.ckpt"
    with pytest.raises(ValueError, match="not a CycleGAN"):
        _stylize(tmp_path, gan, f"input={real}")
    assert not (tmp_path / "stylized").exists()


class LogsTo(torch.nn.Module):
    """A model stand-in that records what is logged, with the CycleGAN's content metrics."""

    def __init__(self, content: dict[str, list[float]]):
        super().__init__()
        self.logged, self.eval_metrics = {}, {}
        for name, values in content.items():
            self.eval_metrics[name] = MeanMetric()
            self.eval_metrics[name].update(torch.tensor(values))

    def log(self, name, value, **kwargs):
        self.logged[name] = float(value)

    def kept_content(self, stage):
        return [m.compute() for m in self.eval_metrics.values()]


def test_weakest_is_the_lowest_of_style_and_the_models_content_both_ways():
    scores = StyleTransferScores(fid=False, reader_epochs=None)
    for content, expected in (
        ({"content_a2b": [1.0, 0.0], "content_b2a": [1.0, 1.0]}, 0.5),  # content a2b: 0.5
        ({"content_a2b": [1.0, 1.0], "content_b2a": [1.0, 1.0]}, 0.75),  # style b2a: 0.75
        ({}, 0.75),  # a model without content scores (folders, CelebA): the style scores alone
    ):
        scores.scores = {"style_a2b": MeanMetric(), "style_b2a": MeanMetric()}
        scores.scores["style_a2b"].update(torch.tensor([1.0, 0.8]))
        scores.scores["style_b2a"].update(torch.tensor([1.0, 0.5]))
        model = LogsTo(content)
        scores._log(model, "val")
        assert model.logged["val/weakest"] == pytest.approx(expected)
        assert model.logged["val/style_a2b"] == pytest.approx(0.9)
        assert all(
            m.update_called for m in model.eval_metrics.values()
        )  # left for the model to log and reset
