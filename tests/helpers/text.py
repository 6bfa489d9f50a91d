"""Tiny IMDB trees in the real layouts (hub parquet, aclImdb folders), intact or damaged; small LSTM runs."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flik_lab.data.reviews.sources import Reviews, parquet_files
from flik_lab.data.reviews.synthetic import generate_reviews, write_aclimdb, write_parquet


def tiny_reviews(n_train: int = 200, n_test: int = 100, seed: int = 0) -> tuple[Reviews, Reviews]:
    """Short synthetic reviews; train sorted by label, as in the hub files, so both layouts keep its order."""
    train = generate_reviews(n_train, seed, median_words=40, sigma=0.6)
    test = generate_reviews(n_test, seed + 1, median_words=40, sigma=0.6)
    return sorted(train, key=lambda review: review[1]), test


def write_reviews(data_dir: Path, n_train: int, n_test: int, median_words: float = 30) -> Path:
    """Generated reviews (train seed 0, test seed 1) in the hub's parquet layout under `data_dir`."""
    train = generate_reviews(n_train, 0, median_words=median_words)
    return write_parquet(data_dir, train, generate_reviews(n_test, 1, median_words=median_words))


def small_lstm(data_dir: Path, val_size: int, width: int = 8, source: str = "parquet") -> list[str]:
    """`flik-lab train` overrides: `experiment=imdb_lstm` of `width` on the `source` files in `data_dir`."""
    data = [f"data.source={source}", f"data.data_dir={data_dir}", f"data.val_size={val_size}"]
    return ["experiment=imdb_lstm", *data, f"model.embed_dim={width}", f"model.encoder.hidden_size={width}"]


def write_tiny(data_dir: Path, layout: str, train: Reviews, test: Reviews) -> Path:
    """`train` and `test` written in `layout` ("parquet" or "aclimdb") under `data_dir`."""
    if layout == "parquet":
        return write_parquet(data_dir, train, test)
    return write_aclimdb(data_dir, train, test)


def write_broken_tree(data_dir: Path, defect: str) -> tuple[str, Path]:
    """A tiny tree with one `defect`; returns the source to read it with and the path the error must name."""
    train, test = tiny_reviews(20, 10)
    if defect.startswith("aclimdb"):
        root = write_aclimdb(data_dir, train, test)
        if defect == "aclimdb-missing-folder":
            folder = root / "test" / "neg"
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
            return "aclimdb", folder
        if defect == "aclimdb-empty-folder":
            folder = root / "train" / "pos"
            for path in folder.iterdir():
                path.unlink()
            return "aclimdb", folder
        if defect == "aclimdb-bad-rating":
            path = root / "train" / "pos" / "999_ten.txt"
            path.write_text("A fine film.", encoding="utf-8")
            return "aclimdb", path
        raise ValueError(f"unknown defect {defect!r}")
    files = parquet_files(data_dir)
    write_parquet(data_dir, train, test)
    if defect == "parquet-missing-file":
        files["test"].unlink()
        return "parquet", files["test"]
    if defect == "parquet-wrong-columns":
        table = pa.table({"review": ["Good."], "sentiment": ["positive"]})
        pq.write_table(table, files["train"])
        return "parquet", files["train"]
    if defect == "parquet-bad-labels":
        table = pa.table({"text": ["Good.", "Bad.", "Meh."], "label": pa.array([1, 0, 2], pa.int64())})
        pq.write_table(table, files["test"])
        return "parquet", files["test"]
    if defect == "parquet-not-parquet":
        files["train"].write_bytes(b"<!DOCTYPE html><html>rate limited</html>")
        return "parquet", files["train"]
    if defect == "parquet-all-empty-test":
        table = pa.table({"text": ["", "  <br /><br /> ", None], "label": pa.array([0, 1, 1], pa.int64())})
        pq.write_table(table, files["test"])
        return "parquet", files["test"]
    raise ValueError(f"unknown defect {defect!r}")
