"""CycleGAN's terms against losing the content: cycle noise, the coarse-layout (shape) term, and CyCADA's
semantic consistency with its two digit readers."""

import re

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from flik_lab.models.connect import DataContractError, connect
from flik_lab.models.cyclegan_losses import shape_loss
from flik_lab.models.semantic_consistency import DigitReader, fit_reader, jitter
from flik_lab.utils.arguments import ArgumentError

from .test_cyclegan import BlobDomains, LabelledBlobs, tiny_cyclegan

pytestmark = pytest.mark.usefixtures("one_thread")


def test_shape_loss_sees_the_layout_not_the_strokes():
    torch.manual_seed(0)
    image = torch.rand(2, 1, 16, 16) * 2 - 1
    checker = (torch.arange(16).view(-1, 1) + torch.arange(16)) % 2 * 0.4 - 0.2  # 0 mean in each 4x4 block
    assert shape_loss(image + checker, image, 4) < 1e-6  # detail below the window: free
    assert F.l1_loss(image + checker, image) == pytest.approx(0.2)
    blob = torch.zeros(1, 1, 16, 16)
    blob[..., 2:6, 2:6] = 1
    moved = torch.roll(blob, shifts=8, dims=-1)  # the same strokes in another place
    assert shape_loss(moved, blob, 4) == pytest.approx(2 / 16)
    assert shape_loss(blob, blob, 4) == 0


def test_cycle_noise_is_added_only_when_asked():
    x = torch.zeros(4000)
    assert torch.equal(tiny_cyclegan()._noisy(x), x)
    assert float(tiny_cyclegan(cycle_noise=0.3)._noisy(x).std()) == pytest.approx(0.3, rel=0.05)


def test_jitter_keeps_shape_and_range_and_changes_images():
    images = torch.rand(64, 1, 16, 16) * 2 - 1
    moved = jitter(images, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape and moved.min() >= -1 and moved.max() <= 1
    assert (moved - images).abs().flatten(1).mean(1).min() > 0  # every image is moved or restroked


def test_a_reader_learns_labels_it_is_given():
    """Bright blobs labelled by quadrant: the fitted reader gets held-out blobs right; a reader fitted on
    shuffled labels (the baseline) cannot."""
    blobs, held_out = LabelledBlobs(256, 16, seed=0).a, LabelledBlobs(128, 16, seed=1).a

    def quadrant(images):
        ys, xs = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
        weight = images.squeeze(1) + 1
        cy, cx = (
            (weight * ys).sum((1, 2)) / weight.sum((1, 2)),
            (weight * xs).sum((1, 2)) / weight.sum((1, 2)),
        )
        return (cy > 7.5).long() * 2 + (cx > 7.5).long()

    torch.manual_seed(0)
    labels = quadrant(blobs)
    reader = fit_reader(blobs, labels, epochs=15, seed=0)
    shuffled = fit_reader(blobs, labels[torch.randperm(len(labels))], epochs=15, seed=0)
    truth = quadrant(held_out)
    accuracy = (reader(held_out).argmax(1) == truth).float().mean()
    baseline = (shuffled(held_out).argmax(1) == truth).float().mean()
    assert not any(p.requires_grad for p in reader.parameters())
    assert accuracy > 0.85 and baseline < 0.5, (accuracy, baseline)


class Reads(torch.nn.Module):
    """A stand-in reader: class 0 for images brighter than 0 on average, else class 1, `margin` sure."""

    def __init__(self, margin: float):
        super().__init__()
        self.margin = margin

    def forward(self, x):
        bright = (x.flatten(1).mean(1) > 0).long()
        return F.one_hot(1 - bright, 10).float() * self.margin


def test_semantic_loss_reads_a_labels_and_confident_b_pseudo_labels():
    model = tiny_cyclegan(lambda_semantic=1.0, pseudo_label_confidence=0.5)
    model.use_readers_a([Reads(margin=5.0)])
    dark, bright = -torch.ones(4, 1, 16, 16), torch.ones(4, 1, 16, 16)
    label_a = torch.tensor([0, 0, 1, -1])  # G(a) is bright: class 0 right twice, 1 wrong once, one unlabelled
    ce_a = F.cross_entropy(Reads(5.0)(bright), label_a, ignore_index=-1)
    with torch.no_grad():
        model.readers_b[0].net[-1].weight.zero_()
        model.readers_b[0].net[-1].bias.copy_(F.one_hot(torch.tensor(1), 10) * 5.0)  # "1", 0.943 sure
    both = model._semantic_loss({"b": dark, "label_a": label_a}, {"a": dark, "b": bright})
    assert both == pytest.approx(float(ce_a + F.cross_entropy(Reads(5.0)(dark), torch.ones(4).long())))
    model.hparams.pseudo_label_confidence = 0.95  # B's reader is not that sure: no pseudo-labels
    assert model._semantic_loss({"b": dark, "label_a": label_a}, {"a": bright, "b": bright}) == pytest.approx(
        float(ce_a)
    )
    a_only = tiny_cyclegan(lambda_semantic=1.0, pseudo_label_confidence=None)  # no B reader at all
    a_only.use_readers_a([Reads(margin=5.0)])
    assert a_only.readers_b is None
    assert a_only._semantic_loss({"b": dark, "label_a": label_a}, {"a": dark, "b": bright}) == pytest.approx(
        float(ce_a)
    )


def test_the_readers_losses_are_averaged():
    model = tiny_cyclegan(lambda_semantic=1.0, pseudo_label_confidence=None)
    model.use_readers_a([Reads(margin=5.0), Reads(margin=1.0)])
    bright, label = torch.ones(4, 1, 16, 16), torch.tensor([0, 1, 1, -1])
    each = [F.cross_entropy(Reads(m)(bright), label, ignore_index=-1) for m in (5.0, 1.0)]
    assert model.readers_a.cross_entropy(bright, label) == pytest.approx(float(sum(each) / 2))


class OnePixel(torch.nn.Module):
    """A reader that an adversarial pattern pleases: class 0 if the pixel at (8, 8) is lit, very sure."""

    def forward(self, x):
        lit = x[:, 0, 8, 8] * 20
        return torch.stack([lit, -lit, *[torch.full_like(lit, -20)] * 8], 1)


def test_under_reader_jitter_no_pixel_exact_pattern_pleases_the_readers():
    torch.manual_seed(0)
    dot = -torch.ones(256, 1, 16, 16)
    dot[..., 8, 8] = 1  # one lit pixel, exactly where the reader looks
    bar = -torch.ones(256, 1, 16, 16)
    bar[..., 4:12, 4:12] = 1  # a blob wide enough to stay under the reader's pixel when moved
    label = torch.zeros(256, dtype=torch.long)
    plain, jittered = (tiny_cyclegan(lambda_semantic=1.0, reader_jitter=j) for j in (False, True))
    for model in (plain, jittered):
        model.use_readers_a([OnePixel()])
    assert plain.readers_a.cross_entropy(dot, label) < 1e-3  # the pattern fools a reader that sees it exactly
    assert jittered.readers_a.cross_entropy(dot, label) > 5.0  # moved, rotated or thinned, it mostly misses
    assert jittered.readers_a.cross_entropy(bar, label) < 0.1  # a robust image still reads
    dot.requires_grad_(True)
    jittered.readers_a.cross_entropy(dot, label).backward()
    assert dot.grad.abs().sum() > 0  # the generators still learn through the jitter


class ReadableBlobDomains(BlobDomains):
    """The blob domains with labels on A (`i % 4`) and a cache folder: what the semantic term needs."""

    def __init__(self, cache: str, **kwargs):
        super().__init__(**kwargs)
        self.cache, self.has_labels = cache, True

    def labelled_train_images(self, domain):
        data = LabelledBlobs(64, self.size, seed=0)
        return data.a, torch.arange(64) % 4

    def cache_dir(self):
        return self.cache

    def train_images(self, domain, limit=None):
        return LabelledBlobs(64, self.size, seed=0).a[:limit]

    def fixed_test_images(self, k):
        return LabelledBlobs(k, self.size, seed=1).a, LabelledBlobs(k, self.size, seed=2).a

    def train_dataloader(self):
        return torch.utils.data.DataLoader(
            LabelledBlobs(64, self.size, seed=0), self.batch_size, shuffle=True
        )


def test_semantic_training_fits_a_reader_trains_b_reader_and_saves_only_b(tmp_path):
    torch.manual_seed(0)
    model = tiny_cyclegan(lambda_semantic=1.0, reader_epochs=2, reader_seeds=[0, 2], reader_jitter=True)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=8,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        limit_val_batches=0,
        default_root_dir=tmp_path,
    )
    data = ReadableBlobDomains(str(tmp_path / "cache"))
    connect(model, data)
    trainer.fit(model, datamodule=data)
    reader_a, other = model.readers_a
    assert len(list((tmp_path / "cache").glob("label_classifier-*.pt"))) == 2  # one per seed, cached
    assert not torch.equal(reader_a.state_dict()["net.8.weight"], other.state_dict()["net.8.weight"])
    assert not any(p.requires_grad for r in (reader_a, other) for p in r.parameters())
    assert len(model.readers_b) == 2  # one B reader per A reader, each started as it, then trained
    starts = [reader.state_dict()["net.8.weight"] for reader in (reader_a, other)]
    for index, reader_b in enumerate(model.readers_b):
        weight = reader_b.state_dict()["net.8.weight"]
        assert not torch.equal(weight, starts[index])
        assert (weight - starts[index]).norm() < (weight - starts[1 - index]).norm()  # its own A reader's
    assert {"train/semantic", "train/reader_b"} <= set(trainer.callback_metrics)
    weights = model.state_dict()
    assert any(k.startswith("readers_b.1.") for k in weights)
    fresh = tiny_cyclegan(lambda_semantic=1.0, reader_seeds=[0, 2])
    fresh.load_state_dict(weights)  # strict: A's readers are not in the checkpoint, B's are
    assert all(isinstance(reader, DigitReader) for reader in fresh.readers_b)


def test_readers_of_two_networks_are_fitted_for_every_seed_and_b_has_one_each(tmp_path):
    torch.manual_seed(0)
    networks = ["small_cnn", "lenet"]
    model = tiny_cyclegan(lambda_semantic=1.0, reader_epochs=1, reader_seeds=[0, 2], reader_networks=networks)
    trainer = L.Trainer(
        accelerator="cpu",
        max_steps=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=tmp_path,
    )
    data = ReadableBlobDomains(str(tmp_path / "cache"))
    connect(model, data)
    trainer.fit(model, datamodule=data)
    shapes = [type(reader.net[0]).__name__ + str(reader.net[0].kernel_size) for reader in model.readers_a]
    # small_cnn at seeds 0 and 2, then lenet at both
    assert shapes == ["Conv2d(3, 3)"] * 2 + ["Conv2d(5, 5)"] * 2
    assert len(list((tmp_path / "cache").glob("label_classifier-*.pt"))) == 4
    for reader_b, reader_a in zip(model.readers_b, model.readers_a, strict=True):
        assert reader_b.net[0].kernel_size == reader_a.net[0].kernel_size
    fresh = tiny_cyclegan(lambda_semantic=1.0, reader_seeds=[0, 2], reader_networks=networks)
    fresh.load_state_dict(model.state_dict())  # strict: the B readers' shapes come from the config


def test_a_lenet_reader_does_not_start_where_the_shipped_classifier_did():
    """The shipped classifier (the content scorer, the same shape) started from torch.manual_seed(0)."""
    from flik_lab.models.mnist_classifier import MNISTClassifier

    torch.manual_seed(0)
    scorer_start = MNISTClassifier().features[0].weight
    images, labels = torch.rand(8, 1, 28, 28) * 2 - 1, torch.arange(8) % 10
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        same_start = DigitReader(1, network="lenet").net[0].weight
    assert torch.equal(same_start, scorer_start)  # the offset below is needed: the shapes draw alike
    reader = fit_reader(images, labels, epochs=1, seed=0, network="lenet")  # one step of Adam 2e-3
    assert (reader.net[0].weight - scorer_start).abs().mean() > 0.5 * scorer_start.abs().mean()


def test_b_pseudo_labels_need_the_mean_of_b_readers_to_be_sure():
    model = tiny_cyclegan(lambda_semantic=1.0, pseudo_label_confidence=0.9, reader_seeds=[0, 2])
    model.use_readers_a([Reads(margin=5.0)])
    dark, bright = -torch.ones(4, 1, 16, 16), torch.ones(4, 1, 16, 16)
    no_label = torch.full((4,), -1)
    with torch.no_grad():  # the first B reader is sure b is a "1", the second that it is a "7"
        for reader, digit in zip(model.readers_b, (1, 7), strict=True):
            reader.net[-1].weight.zero_()
            reader.net[-1].bias.copy_(F.one_hot(torch.tensor(digit), 10) * 10.0)
    g_only = float(F.cross_entropy(Reads(5.0)(bright), torch.zeros(4).long()))
    loss = model._semantic_loss({"b": dark, "label_a": torch.zeros(4).long()}, {"a": dark, "b": bright})
    assert loss == pytest.approx(g_only)  # they disagree: no pseudo-label, F(b) is not pulled either way
    with torch.no_grad():
        model.readers_b[1].net[-1].bias.copy_(F.one_hot(torch.tensor(1), 10) * 10.0)
    loss = model._semantic_loss({"b": dark, "label_a": torch.zeros(4).long()}, {"a": dark, "b": bright})
    assert loss == pytest.approx(g_only + float(F.cross_entropy(Reads(5.0)(dark), torch.ones(4).long())))
    # F(b)'s term stands without a's labels
    assert model._semantic_loss({"b": dark, "label_a": no_label}, {"a": dark, "b": bright}) > 0


def test_a_checkpoint_with_one_b_reader_loads_into_every_b_reader():
    old = tiny_cyclegan(lambda_semantic=1.0, reader_seeds=[0, 2])
    weights = {
        k.replace("readers_b.0.", "label_classifier_b."): v
        for k, v in old.state_dict().items()
        if not k.startswith("readers_b.1.")
    }  # what such a run saved: the generators, discriminators and one B reader
    assert any(k.startswith("label_classifier_b.") for k in weights)
    fresh = tiny_cyclegan(lambda_semantic=1.0, reader_seeds=[0, 2])
    fresh.load_state_dict(weights)  # strict
    for reader in fresh.readers_b:
        assert torch.equal(reader.net[-1].weight, old.readers_b[0].net[-1].weight)
    for key, value in old.generator_ab.state_dict().items():
        assert torch.equal(fresh.generator_ab.state_dict()[key], value)


def test_a_checkpoint_that_named_b_readers_label_classifiers_loads():
    old = tiny_cyclegan(lambda_semantic=1.0, reader_seeds=[0, 2])
    weights = {k.replace("readers_b.", "label_classifiers_b."): v for k, v in old.state_dict().items()}
    fresh = tiny_cyclegan(lambda_semantic=1.0, reader_seeds=[0, 2])
    fresh.load_state_dict(weights)  # strict
    for new, saved in zip(fresh.readers_b, old.readers_b, strict=True):
        assert torch.equal(new.net[-1].weight, saved.net[-1].weight)


def test_semantic_training_refuses_data_without_labelled_images(tmp_path):
    model = tiny_cyclegan(lambda_semantic=1.0)
    with pytest.raises(
        DataContractError, match="CycleGAN needs data that offers UnpairedImageData.*cache_dir"
    ):
        connect(model, BlobDomains())


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("cycle_noise", -0.1),
        ("lambda_shape", -1.0),
        ("shape_pool", 0),
        ("shape_pool", 2.5),
        ("lambda_semantic", -1.0),
        ("pseudo_label_confidence", 1.5),
        ("reader_epochs", 0),
        ("reader_seeds", []),
        ("reader_seeds", [0, 0]),
        ("reader_seeds", [0, 1]),  # 1: the scoring readers' seed
        ("reader_seeds", [-2]),
        ("reader_seeds", "0"),
        ("reader_seeds", [True]),
        ("reader_jitter", "yes"),
        ("reader_networks", []),
        ("reader_networks", "lenet"),
        ("reader_networks", ["lenet", "lenet"]),
        ("reader_networks", ["resnet"]),
        ("reader_networks", [["lenet"]]),
    ],
)
def test_bad_content_term_arguments_are_named(argument, value):
    with pytest.raises(ArgumentError, match=re.escape(f"{argument}={value!r}")):
        tiny_cyclegan(**{argument: value})


def test_semantic_term_needs_a_generator_that_states_its_channels():
    from flik_lab.models.cyclegan import CycleGAN
    from flik_lab.models.cyclegan_networks import PatchDiscriminator

    def d():
        return PatchDiscriminator(1, width=8, num_layers=1)

    identity = torch.nn.Identity()
    with pytest.raises(ArgumentError, match="generator_ab='Identity'"):
        CycleGAN(identity, torch.nn.Identity(), d(), d(), lambda_semantic=1.0)


def test_labelled_cross_entropy_averages_over_labelled_rows_only():
    from flik_lab.models.semantic_consistency import labelled_cross_entropy

    logits = torch.randn(4, 10)
    labels = torch.tensor([3, -1, 7, -1])
    expected = F.cross_entropy(logits[[0, 2]], labels[[0, 2]])
    assert labelled_cross_entropy(logits, labels) == pytest.approx(float(expected))
    assert labelled_cross_entropy(logits, torch.full((4,), -1)) == 0  # none labelled: 0, not NaN
