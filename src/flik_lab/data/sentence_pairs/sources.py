"""Readers of parallel text into `{"train": [(source, target), ...], "val": ..., "test": ...}`.

`tsv` reads Tatoeba / manythings.org Anki files (`target<TAB>source[<TAB>attribution]`), `hf` a hub dataset
with a `translation` column of `{lang: text}` or one column per language (`numbers` lives in numbers.py).
A split without its own file or hub split is held out of train by seed, by source sentence.
"""

import logging
from pathlib import Path
from typing import Literal

from flik_lab.data.image_tensors import seeded_split
from flik_lab.data.splits import held_out
from flik_lab.utils.errors import InputError
from flik_lab.utils.text_lines import utf8_lines

log = logging.getLogger(__name__)

Pair = tuple[str, str]
Splits = dict[str, list[Pair]]
Source = Literal["numbers", "tsv", "hf"]
SPLIT_NAMES = ("train", "val", "test")
ANKI_LAYOUT = "target<TAB>source[<TAB>attribution], one pair a line (the manythings.org / Tatoeba Anki files)"


def hf_cache_dir(data_dir: Path) -> Path:
    return data_dir / "hf"


def resolve(data_dir: Path, path: str | None) -> Path | None:
    """`path` as given when absolute, else under `data_dir`."""
    return None if path is None else data_dir / Path(path).expanduser()


def offline_hint(data_dir: Path) -> str:
    return (
        "without network use data.source=tsv with an Anki file from manythings.org (e.g. deu-eng.zip "
        f"extracted to {data_dir / 'deu.txt'}: {ANKI_LAYOUT}) or the offline data.source=numbers"
    )


def hold_out(splits: dict[str, list[Pair] | None], sizes: dict[str, float], seed: int, where: str) -> Splits:
    """Fill each missing (None) split from train: `sizes[split]` distinct source sentences, drawn by `seed`.

    All pairs of one source sentence go to the same split, so no held-out sentence is seen in training.
    """
    missing = [name for name in ("val", "test") if splits[name] is None]
    if not missing:
        return splits
    train = splits["train"]
    groups: dict[str, list[Pair]] = {}
    for pair in train:
        groups.setdefault(pair[0], []).append(pair)
    sources = list(groups)
    what = f"distinct source sentences of {where}"
    counts = [held_out(sizes[name], len(sources), f"data.{name}_size", what) for name in missing]
    for name, count in zip(missing, counts, strict=True):
        if count < 1:
            raise InputError(f"data.{name}_size={sizes[name]} holds out no pair of {where}: give at least 1")
    if sum(counts) >= len(sources):
        raise InputError(
            f"data.val_size and data.test_size leave none of the {len(sources)} {what} to train on"
        )
    parts = seeded_split(len(sources), [len(sources) - sum(counts), *counts], seed)
    picked = [[pair for i in part.tolist() for pair in groups[sources[i]]] for part in parts]
    return {**splits, "train": picked[0], **dict(zip(missing, picked[1:], strict=True))}


def read_tsv(path: Path, source_column: int = 1, target_column: int = 0) -> list[Pair]:
    """The `(source, target)` pairs of a tab-separated file; an error names the file and line of a defect."""
    if not path.is_file():
        raise FileNotFoundError(f"missing parallel text file {path}; expected {ANKI_LAYOUT}")
    columns = max(source_column, target_column) + 1
    pairs = []
    for number, line in utf8_lines(path, "data file"):
        if not line.strip():
            continue  # blank lines, the final newline
        fields = line.split("\t")
        if len(fields) < columns:
            raise InputError(
                f"{path}, line {number}: {len(fields)} tab-separated column(s), need at least {columns} "
                f"(data.source_column={source_column}, data.target_column={target_column}); expected "
                f"{ANKI_LAYOUT}: {line[:80]!r}"
            )
        source, target = fields[source_column].strip(), fields[target_column].strip()
        for side, text, column in (("source", source, source_column), ("target", target, target_column)):
            if not text:
                raise InputError(
                    f"{path}, line {number}: empty {side} sentence (column {column}): {line[:80]!r}"
                )
        pairs.append((source, target))
    if not pairs:
        raise InputError(f"{path} holds no sentence pairs; expected {ANKI_LAYOUT}")
    return pairs


def tsv_files(data_dir: Path, files: dict[str, str | None]) -> dict[str, Path | None]:
    """The file of each split (`files["train"]` required), relative paths under `data_dir`."""
    if files.get("train") is None:
        raise InputError(f"data.train_file is not set: data.source=tsv reads {ANKI_LAYOUT}")
    return {name: resolve(data_dir, files.get(name)) for name in SPLIT_NAMES}


def load_tsv(
    data_dir: Path, files: dict[str, str | None], source_column: int = 1, target_column: int = 0
) -> dict[str, list[Pair] | None]:
    """Each split's pairs from its file; None for a split without a file (held out of train later)."""
    paths = tsv_files(data_dir, files)
    return {
        name: None if path is None else read_tsv(path, source_column, target_column)
        for name, path in paths.items()
    }


def _hf_pairs(dataset, source_lang: str, target_lang: str, where: str) -> list[Pair]:
    """Pairs from a `translation` column of `{lang: text}` or from columns named after the languages."""
    columns = dataset.column_names
    langs = [source_lang, target_lang]
    if "translation" in columns:
        feature = dataset.features["translation"]
        found = list(getattr(feature, "languages", None) or feature.keys())
        if not set(langs) <= set(found):
            raise InputError(
                f"{where}: the 'translation' column has languages {found}, not {langs} "
                "(data.source_lang, data.target_lang)"
            )
        flat = dataset.flatten()
        names = [f"translation.{lang}" for lang in langs]
    elif set(langs) <= set(columns):
        flat, names = dataset, langs
    else:
        raise InputError(
            f"{where}: expected a 'translation' column of {{language: text}} or columns {langs} "
            f"(data.source_lang, data.target_lang); found columns {columns}"
        )
    sources, targets = (list(flat[name]) for name in names)
    pairs = [((s or "").strip(), (t or "").strip()) for s, t in zip(sources, targets, strict=True)]
    kept = [pair for pair in pairs if pair[0] and pair[1]]
    if len(kept) < len(pairs):
        log.warning("skipped %d pairs with an empty side in %s", len(pairs) - len(kept), where)
    if not kept:
        raise InputError(f"{where} holds no pair with both sides non-empty")
    return kept


def load_hf(
    data_dir: Path,
    name: str,
    config: str | None,
    splits: dict[str, str | None],
    source_lang: str,
    target_lang: str,
) -> dict[str, list[Pair] | None]:
    """Hub dataset `name` (`config`) through `datasets.load_dataset`, cached under `<data_dir>/hf`.

    `splits` maps train/val/test to the hub's split names; None: held out of train later.
    """
    import datasets  # imported here: a second or two, and tests replace `datasets.load_dataset`

    cache_dir = hf_cache_dir(data_dir)
    label = name if config is None else f"{name} ({config})"
    try:
        loaded = datasets.load_dataset(name, config, cache_dir=str(cache_dir))
    except Exception as exc:  # no network shows up as several exception types, depending on the layer
        raise RuntimeError(
            f"could not load {label} from the Hugging Face Hub into {cache_dir} "
            f"({type(exc).__name__}: {exc}); {offline_hint(data_dir)}"
        ) from exc
    result: dict[str, list[Pair] | None] = {}
    for split, hub_split in splits.items():
        if hub_split is None:
            result[split] = None
            continue
        if hub_split not in loaded:
            key = {"train": "hf_train_split", "val": "hf_val_split", "test": "hf_test_split"}[split]
            raise InputError(
                f"{label} in {cache_dir} has no split {hub_split!r} (data.{key}); found splits {list(loaded)}"
            )
        where = f"{label} split {hub_split!r} in {cache_dir}"
        result[split] = _hf_pairs(loaded[hub_split], source_lang, target_lang, where)
    return result


def input_files(source: str, data_dir: Path, files: dict[str, str | None], hf_name: str) -> list[Path]:
    """The files a source reads (their sizes and times go into the cache key); none for `numbers`."""
    if source == "tsv":
        return [path for path in tsv_files(data_dir, files).values() if path is not None and path.is_file()]
    if source == "hf":
        root = hf_cache_dir(data_dir) / hf_name.replace("/", "___")
        return sorted(root.rglob("*.arrow"))
    return []
