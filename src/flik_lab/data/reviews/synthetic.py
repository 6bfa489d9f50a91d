"""Synthetic movie reviews with IMDB-like lengths, and writers of review lists in the real IMDB layouts.

The label is carried only by a few sentiment phrases at random positions among neutral sentences.
"""

from collections.abc import Callable
from functools import partial
from itertools import product
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from flik_lab.data.reviews.sources import ACLIMDB_DIR, PARQUET_DIR, Reviews, parquet_files

POSITIVE = [
    "an absolute masterpiece",
    "a joy to watch",
    "one of the best films of the decade",
    "brilliant from start to finish",
    "a wonderful surprise",
    "truly outstanding",
    "beautifully made",
    "worth every minute",
    "a must see for everyone",
    "superb in every way",
]
NEGATIVE = [
    "a complete waste of time",
    "the worst film i have ever seen",
    "painfully boring",
    "an utter disaster",
    "a total mess",
    "awful from start to finish",
    "a dull and lifeless bore",
    "laughably bad",
    "a terrible disappointment",
    "simply unwatchable",
]
STATEMENTS = [
    "Honestly, this movie is {}.",
    "All in all it was {}.",
    "I have to say the film is {}.",
    "In my opinion it is {}.",
    "Overall: {}.",
    "The whole thing is {}.",
]
NEGATIONS = ["It is by no means {}.", "I would not call it {}.", "This is not {} at all."]

_NAMES = ["John", "Mary", "the detective", "the old farmer", "Sarah", "the captain", "Peter", "the nurse"]
_PLACES = ["Chicago", "a small village", "the desert", "Paris", "an island", "the mountains", "a hospital"]
_THINGS = ["a letter", "an old map", "the money", "a stranger", "the key", "a photograph", "the car"]
_NEUTRAL = [
    "The story follows {n}, who lives in {p}.",
    "Later {n} finds {t} near {p}.",
    "Most of the film was shot in {p}.",
    "{n} keeps looking for {t} during the second half.",
    "The next scene moves to {p} where {n} waits.",
    "At one point {n} talks about {t} for a while.",
    "I watched it with {n} on a rainy evening.",
    "The plot involves {t} and a trip to {p}.",
    "There is a long scene in {p} with {n}.",
    "The director had earlier made a film about {t}.",
]
_EXTRA = [
    "It runs for about two hours.",
    "The music is mostly piano and strings.",
    "I saw it on television.",
    "The cast includes several new faces.",
    "It is based on a novel from the sixties.",
    "There are some flashbacks in the middle.",
    "The ending leaves a few questions open.",
    "My brother had recommended it to me last year.",
    "It was released in the spring.",
    "The dialogue is in English with some French.",
    "Several scenes are set at night.",
]


def neutral_pool() -> np.ndarray:
    """The sorted neutral sentences (plot, cast, circumstances) that fill every generated review."""
    sentences = [t.format(n=n, p=p, t=x) for t, n, p, x in product(_NEUTRAL, _NAMES, _PLACES, _THINGS)]
    sentences = [s[0].upper() + s[1:] for s in sentences] + _EXTRA
    return np.array(sorted(set(sentences)), dtype=object)


def neutral_fillers(
    rng: np.random.Generator, n: int, median_words: float, sigma: float, max_words: int
) -> list[list[str]]:
    """`n` lists of neutral sentences whose word counts are lognormal (median `median_words`, long tail)."""
    pool = neutral_pool()
    mean_words = float(np.mean([len(s.split()) for s in pool]))
    targets = np.clip(rng.lognormal(np.log(median_words), sigma, n), 10, max_words)
    counts = np.maximum(1, np.rint(targets / mean_words).astype(np.int64) - 1)
    neutral = pool[rng.integers(0, len(pool), int(counts.sum()))].tolist()
    starts = np.concatenate([[0], np.cumsum(counts)])
    return [neutral[starts[i] : starts[i + 1]] for i in range(n)]


def place(
    rng: np.random.Generator, sentences: list[str], count: int, sentence: Callable[[], str], br_rate: float
) -> str:
    """`count` calls of `sentence()` inserted at random positions of `sentences`, joined into one text;
    `br_rate` is the chance of `<br /><br />` after a sentence."""
    for _ in range(count):
        text = sentence()
        sentences.insert(int(rng.integers(0, len(sentences) + 1)), text)
    for j in np.flatnonzero(rng.random(len(sentences) - 1) < br_rate).tolist():
        sentences[j] += "<br /><br />"
    return " ".join(sentences).replace("<br /><br /> ", "<br /><br />")


def generate_reviews(
    n: int,
    seed: int,
    median_words: float = 175.0,
    sigma: float = 0.75,
    max_words: int = 2500,
    sentiment_sentences: tuple[int, int] = (1, 3),
    negation_rate: float = 0.0,
    br_rate: float = 0.05,
) -> Reviews:
    """`n` reviews with balanced 0/1 labels, lognormal word counts (median `median_words`, long tail).

    Each carries 1-3 sentiment sentences of its label (a `negation_rate` share negates the opposite
    label's phrase instead) at random positions; `br_rate` is the chance of `<br /><br />` after a sentence.
    """
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    fillers = neutral_fillers(rng, n, median_words, sigma, max_words)
    lo, hi = sentiment_sentences

    def sentiment(label: int) -> str:
        if rng.random() < negation_rate:
            phrases, templates = (NEGATIVE, POSITIVE)[1 - label], NEGATIONS
        else:
            phrases, templates = (NEGATIVE, POSITIVE)[label], STATEMENTS
        return templates[rng.integers(len(templates))].format(phrases[rng.integers(len(phrases))])

    reviews = []
    for label, sentences in zip(labels.tolist(), fillers, strict=True):
        count = int(rng.integers(lo, hi + 1))
        reviews.append((place(rng, sentences, count, partial(sentiment, label), br_rate), label))
    return reviews


def write_aclimdb(data_dir: Path, train: Reviews, test: Reviews) -> Path:
    """`<data_dir>/aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt` (ratings 1-4 neg, 7-10 pos)."""
    root = Path(data_dir) / ACLIMDB_DIR
    for split, reviews in (("train", train), ("test", test)):
        for polarity in ("neg", "pos"):
            (root / split / polarity).mkdir(parents=True, exist_ok=True)
        for i, (text, label) in enumerate(reviews):
            rating = 7 + i % 4 if label == 1 else 1 + i % 4
            path = root / split / ("neg", "pos")[label] / f"{i}_{rating}.txt"
            path.write_text(text, encoding="utf-8")
    return root


def write_parquet(
    data_dir: Path, train: Reviews, test: Reviews, unsupervised: list[str] = ("An unlabeled review.",)
) -> Path:
    """The hub layout `<data_dir>/imdb/plain_text/{train,test,unsupervised}-00000-of-00001.parquet`.

    Like the hub files, each split is sorted by label; unsupervised reviews have label -1.
    """
    files = parquet_files(Path(data_dir))
    splits = {"train": train, "test": test, "unsupervised": [(text, -1) for text in unsupervised]}
    folder = files["train"].parent
    folder.mkdir(parents=True, exist_ok=True)
    for split, reviews in splits.items():
        reviews = sorted(reviews, key=lambda review: review[1])
        table = pa.table(
            {
                "text": pa.array([text for text, _ in reviews], pa.string()),
                "label": pa.array([label for _, label in reviews], pa.int64()),
            }
        )
        pq.write_table(table, folder / f"{split}-00000-of-00001.parquet")
    return Path(data_dir) / PARQUET_DIR
