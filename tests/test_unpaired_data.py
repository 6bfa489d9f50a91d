"""Unpaired two-domain data for CycleGAN: typeset digits, the digits source, image folders, CelebA."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from flik_lab.data.typeset_digits import FONT_FILES, font_files, render_typeset_digits
from flik_lab.data.unpaired import UnpairedBatches, UnpairedImageDataModule
from flik_lab.images import to_unit_range
from flik_lab.models.mnist_classifier import load_pretrained
from flik_lab.utils.arguments import ArgumentError

from .helpers.images import CELEBA_ATTRS, write_celeba_tree


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    data = UnpairedImageDataModule(data_dir=str(tmp_path_factory.mktemp("data")), eval_batch_size=300)
    data.setup()
    return data


def _as_rank(data, rank: int, world: int):
    strategy = SimpleNamespace(root_device=torch.device("cpu"))
    data.trainer = SimpleNamespace(world_size=world, global_rank=rank, training=False, strategy=strategy)


def test_typeset_digits_are_deterministic_and_from_matplotlibs_fonts():
    assert all(path.is_file() for path in font_files()) and len(font_files()) >= 10
    labels = np.arange(10).repeat(5)
    first = render_typeset_digits(labels, seed=3)
    assert first.shape == (50, 28, 28) and first.dtype == np.uint8
    assert np.array_equal(first, render_typeset_digits(labels, seed=3))
    assert np.array_equal(first[:7], render_typeset_digits(labels[:7], seed=3))  # per-image seeds
    assert not np.array_equal(first, render_typeset_digits(labels, seed=4))
    rows = (first > 0).any(2)  # MNIST: the digit's box about 20 pixels high, a black border around it
    top, bottom = rows.argmax(1), 27 - rows[:, ::-1].argmax(1)
    assert 18 <= np.median(bottom - top + 1) <= 21
    assert ((first[:, [0, 27]] == 0).all((1, 2)) & (first[:, :, [0, 27]] == 0).all((1, 2))).mean() >= 0.95
    with pytest.raises(ValueError, match="0..9"):
        render_typeset_digits([3, 10])


def test_typeset_digits_are_read_by_the_shipped_classifier():
    labels = np.random.default_rng(0).integers(0, 10, 500)
    images = to_unit_range(torch.from_numpy(render_typeset_digits(labels, seed=0)))
    with torch.no_grad():
        predicted = load_pretrained()(images).argmax(1).numpy()
    accuracy = (predicted == labels).mean()
    assert accuracy >= 0.8, accuracy  # measured: 0.884 here, 0.871 on 5,000 (weakest: serif 1s)


def _read_as(images: np.ndarray, labels) -> float:
    """Share of `images` that the shipped classifier reads as `labels`."""
    with torch.no_grad():
        predicted = load_pretrained()(to_unit_range(torch.from_numpy(images))).argmax(1).numpy()
    return float((predicted == np.asarray(labels)).mean())


def test_typeset_digits_draw_only_the_fonts_asked_for():
    labels = np.arange(10).repeat(3)
    assert np.array_equal(
        render_typeset_digits(labels, seed=5), render_typeset_digits(labels, seed=5, fonts=FONT_FILES)
    )
    ones = [1] * 40  # the shipped classifier takes DejaVu Sans 1s (flag and foot) for 2s, STIX Italic's not
    assert _read_as(render_typeset_digits(ones, fonts=["DejaVuSans.ttf"]), ones) <= 0.2
    assert _read_as(render_typeset_digits(ones, fonts=["STIXGeneralItalic.ttf"]), ones) >= 0.9
    for fonts, needle in (
        (["DejaVuSans.ttf", "Arial.ttf"], "Arial.ttf"),
        ([], "non-empty list"),
        ("STIXGeneral.ttf", "non-empty list"),
        (["STIXGeneral.ttf", "STIXGeneral.ttf"], "each font file once"),
    ):
        with pytest.raises(ArgumentError, match=needle) as err:
            render_typeset_digits([3], fonts=fonts)
        assert err.value.argument == "fonts"


def test_digits_source_with_some_fonts_has_its_own_images_and_cache(digits, tmp_path):
    fonts = ["STIXGeneral.ttf", "DejaVuSerif.ttf"]
    data = UnpairedImageDataModule(data_dir=str(digits.data_dir), eval_batch_size=300, fonts=fonts)
    data.setup()
    assert data.cache_dir() != digits.cache_dir()  # the domain classifier and readers are fitted per font set
    assert (
        UnpairedImageDataModule(data_dir=str(digits.data_dir), fonts=None).cache_dir() == digits.cache_dir()
    )
    for split in ("train", "test"):
        (a, b), (a_all, b_all) = data.splits[split], digits.splits[split]
        assert torch.equal(a.images, a_all.images) and torch.equal(
            b.labels, b_all.labels
        )  # only B's fonts change
        assert not torch.equal(b.images, b_all.images)
    test_b = data.splits["test"][1]
    expected = render_typeset_digits(
        test_b.labels.numpy(), seed=2, fonts=fonts
    )  # the test split's seed 0*3+2
    assert torch.equal(test_b.images, to_unit_range(torch.from_numpy(expected)))
    with pytest.raises(ArgumentError, match="Comic.ttf"):
        UnpairedImageDataModule(fonts=["Comic.ttf"])


def test_digits_source_batches(digits):
    assert (digits.channels, digits.image_size, digits.has_labels) == (1, 28, True)
    images, labels = digits.labelled_train_images("a")
    assert images.shape == (len(labels), 1, 28, 28) and torch.equal(labels, digits.splits["train"][0].labels)
    assert digits.domain_names == ("handwritten", "typeset")
    for split, (a, b) in digits.splits.items():  # B has A's classes, as many of each, in its own order
        assert torch.equal(torch.bincount(a.labels, minlength=10), torch.bincount(b.labels, minlength=10))
        assert (a.labels == b.labels).float().mean() < 0.5, split
    assert [len(a) for a, _ in digits.splits.values()] == [4000, 500, 500]
    batch = next(iter(digits.train_dataloader()))
    assert set(batch) == {"a", "b", "label_a", "label_b"}
    assert batch["a"].shape == batch["b"].shape == (16, 1, 28, 28)
    for key in "ab":
        assert batch[key].min() >= -1 and batch[key].max() <= 1 and batch[key].min() == -1
        assert batch[f"label_{key}"].dtype == torch.int64 and 0 <= batch[f"label_{key}"].min()
    fixed_a, fixed_b = digits.fixed_test_images(6)
    assert fixed_a.shape == fixed_b.shape == (6, 1, 28, 28)
    assert digits.train_images("b").shape == (4000, 1, 28, 28)
    assert digits.cache_dir().is_dir() and digits.cache_dir().name.startswith("unpaired-")


def test_training_orders_of_a_and_b_are_independent_and_seeded():
    def rows(seed, epoch):
        batches = UnpairedBatches(10, 4, 3, shuffle=True, seed=seed)
        batches.set_epoch(epoch)
        return [row for batch in batches for row in batch]

    first = rows(0, 0)
    assert len(first) == 9 and first == rows(0, 0) and first != rows(0, 1) and first != rows(1, 0)
    assert len({a for a, _ in first}) == 9  # the longer domain: each image at most once
    assert sorted(b for _, b in first[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]  # the shorter one cycles
    assert [a for a, _ in first] != [b for _, b in first]
    assert len(UnpairedBatches(10, 4, 3, shuffle=True)) == 3


@pytest.mark.parametrize("world", [1, 2, 3])
def test_eval_batches_count_each_image_once(digits, world):
    seen = {"a": [], "b": []}
    for rank in range(world):
        _as_rank(digits, rank, world)
        for batch in digits.val_dataloader():
            for key in "ab":
                seen[key].append(batch[f"label_{key}"][batch[f"valid_{key}"]])
    digits.trainer = None
    for key, domain in zip("ab", digits.splits["val"], strict=True):
        labels = torch.cat(seen[key])
        assert len(labels) == len(domain) == 500
        assert torch.equal(labels.sort().values, domain.labels.sort().values)


def test_eval_batches_cycle_the_shorter_domain():
    rows = [row for batch in UnpairedBatches(5, 2, 4, shuffle=False) for row in batch]
    assert rows == [
        (0, 0, True, True),
        (1, 1, True, True),
        (2, 0, True, False),
        (3, 1, True, False),
        (4, 0, True, False),
    ]


def _write_folders(root, counts=None):
    rng = np.random.default_rng(0)
    counts = counts or {"trainA": 6, "trainB": 9, "testA": 3, "testB": 2}
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (40 + i, 50, 3), dtype=np.uint8)  # not square: resize, then crop
            image = Image.fromarray(pixels) if i % 2 else Image.fromarray(pixels[..., 0]).convert("L")
            image.save(root / name / (f"{i}.png" if i % 2 else f"{i}.jpg"))
    (root / "trainA" / "notes.txt").write_text("not an image extension: ignored")
    return root


def test_image_folders_through_the_datamodule(tmp_path):
    _write_folders(tmp_path / "horse2zebra")
    data = UnpairedImageDataModule(
        source="image_folders",
        data_dir=str(tmp_path),
        folder="horse2zebra",
        image_size=16,
        load_size=20,
        val_size=2,
        batch_size=4,
        eval_batch_size=3,
    )
    data.setup()
    assert data.domain_names == ("horse", "zebra") and (data.channels, data.has_labels) == (3, False)
    assert {s: (len(a), len(b)) for s, (a, b) in data.splits.items()} == {
        "train": (4, 7),
        "val": (2, 2),
        "test": (3, 2),
    }
    batches = list(data.train_dataloader())
    assert len(batches) == 1 and batches[0]["a"].shape == (4, 3, 16, 16)
    assert batches[0]["label_a"].tolist() == [-1] * 4
    test = list(data.test_dataloader())
    assert [b["a"].shape[0] for b in test] == [3] and test[0]["valid_b"].tolist() == [True, True, False]
    assert all(b["a"].min() >= -1 and b["a"].max() <= 1 for b in test)
    assert data.fixed_test_images(5)[1].shape == (2, 3, 16, 16)
    assert data.train_images("a").shape == (4, 3, 16, 16) and data.train_images("b", limit=3).shape[0] == 3
    other = UnpairedImageDataModule(source="image_folders", data_dir=str(tmp_path), image_size=32)
    assert data.cache_dir() != other.cache_dir()
    with pytest.raises(ArgumentError, match="data.source='image_folders'"):  # no labels for CyCADA's term
        data.labelled_train_images("a")


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda root: [p.unlink() for p in (root / "testB").iterdir()] and (root / "testB").rmdir(), "testB"),
        (lambda root: [p.unlink() for p in (root / "trainA").iterdir()], "no images"),
        (lambda root: (root / "trainB" / "broken.jpg").write_text("<html>quota</html>"), "broken.jpg"),
    ],
    ids=["missing-testB", "empty-trainA", "not-an-image"],
)
def test_image_folder_errors_name_the_path(tmp_path, damage, needle):
    root = _write_folders(tmp_path / "monet2photo")
    damage(root)
    data = UnpairedImageDataModule(
        source="image_folders", data_dir=str(tmp_path), folder="monet2photo", val_size=1, batch_size=2
    )
    with pytest.raises((FileNotFoundError, ValueError), match=needle) as err:
        data.setup()
    assert str(root) in str(err.value)


def test_missing_image_folder_names_it(tmp_path):
    data = UnpairedImageDataModule(source="image_folders", data_dir=str(tmp_path), folder="apple2orange")
    with pytest.raises(FileNotFoundError, match="apple2orange"):
        data.setup()


def test_celeba_split_by_attribute(tmp_path):
    folder = write_celeba_tree(tmp_path, per_split=8, seed=1)
    rows = [line.split() for line in (folder / "list_attr_celeba.txt").read_text().splitlines()[2:]]
    values = np.array([[int(v) for v in row[1:]] for row in rows])  # (24, 40) in {-1, 1}, 8 per split
    per_split = values.reshape(3, 8, 40)
    # the attributes that some images of every split have and some lack
    both = [i for i in range(40) if (np.abs(per_split[:, :, i].sum(1)) < 8).all()]
    attribute = CELEBA_ATTRS[both[0]]
    data = UnpairedImageDataModule(
        source="celeba",
        data_dir=str(tmp_path),
        attribute=attribute,
        batch_size=2,
        eval_batch_size=3,
        verify_md5=False,
    )
    data.prepare_data()
    data.setup()
    for split, column in zip(("train", "val", "test"), per_split[:, :, both[0]], strict=True):
        a, b = data.splits[split]
        assert (len(a), len(b)) == ((column == 1).sum(), (column == -1).sum())
    words = attribute.replace("_", " ")
    assert data.domain_names == (f"with {words}", f"without {words}")
    batch = next(iter(data.train_dataloader()))
    assert batch["a"].shape == (2, 3, 64, 64) and batch["label_b"].tolist() == [-1, -1]
    valid = sum(int(b["valid_a"].sum()) for b in data.test_dataloader())
    assert valid == (per_split[2, :, both[0]] == 1).sum()


def test_celeba_unknown_attribute_lists_close_matches(tmp_path):
    with pytest.raises(ArgumentError, match="Eyeglasses") as err:
        UnpairedImageDataModule(source="celeba", data_dir=str(tmp_path), attribute="eyeglases")
    assert err.value.argument == "attribute"
    assert UnpairedImageDataModule(source="celeba", attribute="Male").domain_names == ("male", "female")


def test_bad_settings_name_their_key():
    with pytest.raises(ArgumentError, match="source"):
        UnpairedImageDataModule(source="photos")
    with pytest.raises(ArgumentError, match="load_size"):
        UnpairedImageDataModule(source="image_folders", image_size=64, load_size=32)
