"""The offline corpus: every number of a range written out in words, e.g. German -> English with `num2words`.

`dreihundertsiebenundzwanzig` -> `three hundred and twenty-seven`: compounds to split and units before tens
to reorder. The splits are drawn by number, so no validation or test number is ever seen in training.
"""

from importlib.metadata import version

from num2words import CONVERTER_CLASSES, num2words

from flik_lab.data.image_tensors import seeded_split
from flik_lab.data.splits import held_out
from flik_lab.utils.errors import InputError

Pair = tuple[str, str]


def num2words_version() -> str:
    """Part of the cache key: another num2words release may spell some numbers differently."""
    return version("num2words")


def supported(lang: str) -> bool:
    return lang in CONVERTER_CLASSES


def number_pairs(numbers: list[int], source_lang: str = "de", target_lang: str = "en") -> list[Pair]:
    """`(number in source_lang words, number in target_lang words)` for each number."""
    return [(num2words(n, lang=source_lang), num2words(n, lang=target_lang)) for n in numbers]


def number_splits(
    min_number: int,
    max_number: int,
    val_size: float,
    test_size: float,
    seed: int,
    source_lang: str = "de",
    target_lang: str = "en",
) -> dict[str, list[Pair]]:
    """Train, val and test pairs of the numbers `min_number..max_number`, split by number with `seed`."""
    numbers = list(range(min_number, max_number + 1))
    what = f"numbers {min_number}..{max_number}"
    n_val = held_out(val_size, len(numbers), "data.val_size", what)
    n_test = held_out(test_size, len(numbers), "data.test_size", what)
    for key, value, count in (("val_size", val_size, n_val), ("test_size", test_size, n_test)):
        if count < 1:
            raise InputError(f"data.{key}={value} holds out none of the {what}: give at least 1")
    if n_val + n_test >= len(numbers):
        raise InputError(
            f"data.val_size={val_size} and data.test_size={test_size} leave none of the {what} to train on"
        )
    parts = seeded_split(len(numbers), [len(numbers) - n_val - n_test, n_val, n_test], seed)
    return {
        name: number_pairs([numbers[i] for i in part.tolist()], source_lang, target_lang)
        for name, part in zip(("train", "val", "test"), parts, strict=True)
    }
