"""Readers of the three IMDB layouts into `{"train": [(text, label), ...], "test": [...]}`, 0 neg / 1 pos.

The unsupervised split (label -1) is never read.
"""

import logging
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flik_lab.utils.errors import InputError

log = logging.getLogger(__name__)

Reviews = list[tuple[str, int]]
SOURCES = ("hf", "parquet", "aclimdb")
SPLITS = ("train", "test")
HF_NAME = "stanfordnlp/imdb"
PARQUET_DIR = "imdb"  # <data_dir>/imdb/plain_text/*.parquet: the hub repository's layout
ACLIMDB_DIR = "aclImdb"
ACLIMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_NAME = re.compile(r"(\d+)_(\d+)", re.ASCII)


def hf_cache_dir(data_dir: Path) -> Path:
    return data_dir / "hf"


def parquet_files(data_dir: Path) -> dict[str, Path]:
    folder = data_dir / PARQUET_DIR / "plain_text"
    return {split: folder / f"{split}-00000-of-00001.parquet" for split in SPLITS}


def offline_hint(data_dir: Path) -> str:
    """Where the files of the two offline sources go."""
    files = parquet_files(data_dir)
    return (
        f"data.source=parquet reads the hub files {files['train']} and {files['test']} "
        f"(`hf download {HF_NAME} --repo-type dataset --local-dir {data_dir / PARQUET_DIR}` on a machine "
        f"with network); data.source=aclimdb reads the original {ACLIMDB_URL} extracted to "
        f"{data_dir / ACLIMDB_DIR}/{{train,test}}/{{pos,neg}}/<id>_<rating>.txt (`tar -xzf` in {data_dir})"
    )


def input_files(source: str, data_dir: Path) -> tuple[Path, list[Path]]:
    """The resolved input folder of `source` and the files in it that the reviews are read from."""
    if source == "hf":
        root = hf_cache_dir(data_dir) / HF_NAME.replace("/", "___")
        return root, sorted(root.rglob("*.arrow"))
    if source == "parquet":
        return data_dir / PARQUET_DIR, [p for p in parquet_files(data_dir).values() if p.is_file()]
    root = data_dir / ACLIMDB_DIR
    return root, sorted(p for s in SPLITS for pol in ("neg", "pos") for p in (root / s / pol).glob("*.txt"))


def load_reviews(source: str, data_dir: Path) -> dict[str, Reviews]:
    """Train and test reviews of `source`, empty ones dropped (with a logged count)."""
    if source == "hf":
        splits, where = load_hf(data_dir), dict.fromkeys(SPLITS, hf_cache_dir(data_dir))
    elif source == "parquet":
        splits, where = load_parquet(data_dir), parquet_files(data_dir)
    elif source == "aclimdb":
        splits, where = load_aclimdb(data_dir), {s: data_dir / ACLIMDB_DIR / s for s in SPLITS}
    else:
        raise InputError(f"unknown IMDB source {source!r}; valid sources: {', '.join(SOURCES)}")
    return {split: drop_empty(reviews, split, where[split]) for split, reviews in splits.items()}


def drop_empty(reviews: Reviews, split: str, where: Path) -> Reviews:
    """Drop reviews left empty once `<br />` tags and whitespace are removed; an empty split is an error."""
    kept = [(text, label) for text, label in reviews if _BR.sub(" ", text).strip()]
    if len(kept) < len(reviews):
        log.warning("skipped %d empty IMDB %s reviews in %s", len(reviews) - len(kept), split, where)
    if not kept:
        raise InputError(f"the IMDB {split} split in {where} has no non-empty reviews")
    return kept


def _checked(texts: list, labels: list, where: str) -> Reviews:
    bad = sorted({repr(label) for label in labels if label not in (0, 1)})
    if bad:
        raise InputError(f"{where}: labels must be 0 (neg) or 1 (pos), found {bad[:10]}")
    return [("" if text is None else text, int(label)) for text, label in zip(texts, labels, strict=True)]


def _from_hf_split(dataset, where: str) -> Reviews:
    missing = {"text", "label"} - set(dataset.column_names)
    if missing:
        raise InputError(
            f"{where}: expected columns 'text' (str) and 'label' (int), missing {sorted(missing)}; "
            f"found {dataset.column_names}"
        )
    return _checked(list(dataset["text"]), list(dataset["label"]), where)


def load_hf(data_dir: Path) -> dict[str, Reviews]:
    """`stanfordnlp/imdb` through `datasets.load_dataset`, cached under `<data_dir>/hf`."""
    import datasets  # imported here: a second or two, and tests replace `datasets.load_dataset`

    cache_dir = hf_cache_dir(data_dir)
    try:
        loaded = datasets.load_dataset(HF_NAME, cache_dir=str(cache_dir))
    except Exception as exc:  # no network shows up as several exception types, depending on the layer
        raise RuntimeError(
            f"could not download {HF_NAME} from the Hugging Face Hub into {cache_dir} "
            f"({type(exc).__name__}: {exc}). Without network use an offline source: {offline_hint(data_dir)}"
        ) from exc
    missing = [split for split in SPLITS if split not in loaded]
    if missing:
        raise InputError(f"{HF_NAME} in {cache_dir} has no {missing} split(s); found {list(loaded)}")
    return {
        split: _from_hf_split(loaded[split], f"{HF_NAME} {split} split in {cache_dir}") for split in SPLITS
    }


def load_parquet(data_dir: Path) -> dict[str, Reviews]:
    """The hub's `plain_text/{train,test}-00000-of-00001.parquet`, read by `datasets`."""
    import datasets

    files = parquet_files(data_dir)
    for path in files.values():
        if not path.is_file():
            raise FileNotFoundError(
                f"missing IMDB parquet file {path}: expected the hub layout of {HF_NAME}, "
                f"{path.parent}/{{train,test}}-00000-of-00001.parquet with columns 'text' and 'label'"
            )
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path} is not a readable parquet file: {exc}") from exc
        names = schema.names
        if "text" not in names or "label" not in names:
            raise InputError(f"{path}: expected columns 'text' (str) and 'label' (int), found {names}")
        text_type, label_type = schema.field("text").type, schema.field("label").type
        if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)):
            raise InputError(f"{path}: column 'text' must hold strings, found {text_type}")
        if not pa.types.is_integer(label_type):
            raise InputError(f"{path}: column 'label' must hold integers 0/1, found {label_type}")
    loaded = datasets.load_dataset(
        "parquet", data_files={s: str(p) for s, p in files.items()}, cache_dir=str(hf_cache_dir(data_dir))
    )
    return {split: _from_hf_split(loaded[split], str(files[split])) for split in SPLITS}


def _read_text(path: Path) -> tuple[str, bool]:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace"), False


def load_aclimdb(data_dir: Path) -> dict[str, Reviews]:
    """The original `aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt` files, in (label, id) order."""
    root = data_dir / ACLIMDB_DIR
    layout = (
        f"expected {ACLIMDB_URL} extracted in {data_dir}: {root}/{{train,test}}/{{pos,neg}}/<id>_<rating>.txt"
    )
    splits, not_utf8 = {}, 0
    for split in SPLITS:
        reviews = []
        for label, polarity in enumerate(("neg", "pos")):
            folder = root / split / polarity
            if not folder.is_dir():
                raise FileNotFoundError(f"missing IMDB folder {folder}; {layout}")
            numbered = []
            for path in folder.glob("*.txt"):
                match = _NAME.fullmatch(path.stem)
                if match is None:
                    raise InputError(f"{path}: the name must be <id>_<rating>.txt with integers; {layout}")
                numbered.append((int(match[1]), path))
            if not numbered:
                raise FileNotFoundError(f"no .txt reviews in {folder}; {layout}")
            for _, path in sorted(numbered):
                text, utf8 = _read_text(path)
                not_utf8 += not utf8
                reviews.append((text, label))
        splits[split] = reviews
    if not_utf8:
        log.warning("%d IMDB files in %s are not UTF-8: read with replacement characters", not_utf8, root)
    return splits
