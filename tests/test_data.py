"""The three image DataModules on the shipped digits and on tiny trees in torchvision's layouts."""

import pytest
import torch

from flik_lab.data.celeba import CelebADataModule
from flik_lab.data.mnist import MNISTDataModule
from flik_lab.data.mnist5k import MNIST5kDataModule, load_mnist5k

from .helpers.images import write_celeba_tree, write_mnist_raw


def test_mnist5k_is_500_real_digits_per_class():
    images, labels = load_mnist5k()
    assert images.shape == (5000, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [500] * 10
    assert images.float().mean() > 20  # real strokes, not blank images


def test_mnist5k_split_is_disjoint_deterministic_and_scaled():
    def split(seed):
        data = MNIST5kDataModule(seed=seed)
        data.setup()
        return data

    a, b, c = split(0), split(0), split(1)
    assert [len(s) for s in (a.train_set, a.val_set, a.test_set)] == [4000, 500, 500]
    assert torch.equal(a.val_set.tensors[0], b.val_set.tensors[0])
    assert not torch.equal(a.val_set.tensors[0], c.val_set.tensors[0])
    flat = [s.tensors[0].flatten(1) for s in (a.train_set, a.val_set, a.test_set)]
    assert torch.cat(flat).unique(dim=0).shape[0] >= 4990  # (the subset has a few duplicates)
    assert flat[0].min() == -1 and flat[0].max() == 1
    images, labels = next(iter(a.train_dataloader()))
    assert images.shape == (64, 1, 28, 28) and labels.shape == (64,)


def test_mnist_reads_torchvision_raw_files(tmp_path):
    write_mnist_raw(tmp_path, n_train=30, n_test=10)
    data = MNISTDataModule(str(tmp_path), batch_size=8, val_size=6, download=False)
    data.prepare_data()
    data.setup()
    assert [len(s) for s in (data.train_set, data.val_set, data.test_set)] == [24, 6, 10]
    images, _ = next(iter(data.train_dataloader()))
    assert images.shape == (8, 1, 28, 28) and images.min() >= -1 and images.max() <= 1


def test_mnist_missing_files_say_where_and_offer_mnist5k(tmp_path):
    data = MNISTDataModule(str(tmp_path / "nowhere"), download=False)
    with pytest.raises(FileNotFoundError) as err:
        data.prepare_data()
    message = str(err.value)
    assert str(tmp_path / "nowhere" / "MNIST" / "raw" / "train-images-idx3-ubyte") in message
    assert "data=mnist5k" in message


def test_celeba_tiny_tree_through_torchvision(tmp_path):
    write_celeba_tree(tmp_path, per_split=4)
    data = CelebADataModule(str(tmp_path), batch_size=3, eval_batch_size=4, num_workers=0, verify_md5=False)
    data.prepare_data()
    data.setup()
    images, attrs = next(iter(data.train_dataloader()))
    assert images.shape == (3, 3, 64, 64) and attrs.shape == (3, 40)
    assert images.min() >= -1 and images.max() <= 1 and set(attrs.unique().tolist()) <= {0, 1}
    assert len(data.splits["valid"]) == 4 and "Smiling" in data.attr_names


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda f: (f / "list_attr_celeba.txt").unlink(), "list_attr_celeba.txt"),
        (lambda f: [p.unlink() for p in (f / "img_align_celeba").iterdir()], "no .jpg images"),
        (
            lambda f: (f / "identity_CelebA.txt").write_text("<!DOCTYPE html><html>Quota</html>"),
            "Google Drive",
        ),
    ],
    ids=["missing-annotations", "no-images", "quota-page"],
)
def test_celeba_partial_download_is_named(tmp_path, damage, needle):
    damage(write_celeba_tree(tmp_path, per_split=2))
    data = CelebADataModule(str(tmp_path), num_workers=0, verify_md5=False)
    with pytest.raises((FileNotFoundError, ValueError), match=needle):
        data.setup()


def test_celeba_checks_md5_by_default(tmp_path):
    write_celeba_tree(tmp_path, per_split=2)
    with pytest.raises(ValueError, match="MD5"):
        CelebADataModule(str(tmp_path), num_workers=0).setup()


def test_celeba_missing_folder_names_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="img_align_celeba"):
        CelebADataModule(str(tmp_path), num_workers=0).prepare_data()
