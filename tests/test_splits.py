"""A held-out split is a count or a fraction, and never silently most of the data."""

import pytest

from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.data.splits import held_out


def test_counts_and_fractions():
    assert held_out(500, 5000, "data.val_size") == 500
    assert held_out(500.0, 5000, "data.val_size") == 500  # what a float-typed config field holds
    assert held_out(0.1, 3000, "data.val_size") == 300
    assert held_out(0, 10, "data.test_size") == 0


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        (2500, r"holds out 2500 of the 3000 training examples \(83%\)"),
        (-1, "expected a count"),
        (12.5, "a count must be whole"),
        ("x", "expected a count"),
    ],
)
def test_bad_sizes_name_the_key(value, needle):
    with pytest.raises(ValueError, match=rf"data.val_size={value}.*{needle}|{needle}"):
        held_out(value, 3000, "data.val_size")


def test_the_shipped_digits_split_by_fraction():
    train, val, test = MNIST5kDataModule(val_size=0.2, test_size=0.1).load_splits()
    assert (len(train), len(val), len(test)) == (3500, 1000, 500)
