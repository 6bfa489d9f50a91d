"""Synthetic reviews whose label only word order tells: negated and contrasting sentiment.

Every sentiment sentence holds one positive and one negative adjective, and "not" or "but" decides:
"the acting is not awful, it is good" is positive, "the acting is not good, it is awful" negative;
"dull at first, but moving in the end" positive. The two classes draw their words from the same
distribution, so no reader of word counts (linear or not) beats chance; a reader of order can.
"""

from functools import partial

import numpy as np

from flik_lab.data.reviews.sources import Reviews
from flik_lab.data.reviews.synthetic import neutral_fillers, place
from flik_lab.utils.arguments import ArgumentError

POSITIVE_WORDS = ["good", "great", "excellent", "wonderful", "brilliant", "superb", "enjoyable", "moving"]
NEGATIVE_WORDS = ["bad", "awful", "terrible", "boring", "dull", "poor", "weak", "dreadful"]
SUBJECTS = [
    "the acting",
    "the plot",
    "the script",
    "the music",
    "the ending",
    "the cast",
    "the story",
    "the camera work",
    "the dialogue",
    "the film",
]
# {s}: a subject; {b}: an adjective of the sentence's polarity, {a}: one of the opposite polarity
NEGATION = [
    "{s} is not {a}, it is {b}.",
    "{s} is {b}, not {a}.",
    "It is by no means {a}; it is {b}.",
    "I would call it {b}, and I would never call it {a}.",
    "{s} was {b} and not {a} at all.",
]
# the clause after "but" (before "although") decides
CONTRAST = [
    "{a} at first, but {b} in the end.",
    "{s} starts {a}, but it ends up {b}.",
    "{s} seems {a}, but is {b}.",
    "In the end {s} is {b}, although it starts {a}.",
]
FORMS = {"negation": NEGATION, "contrast": CONTRAST}


def _check(n, median_words, sigma, max_words, sentiment_sentences, contrast_rate, br_rate) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ArgumentError("n", n, "a positive integer")
    if not median_words > 0:
        raise ArgumentError("median_words", median_words, "a positive number")
    if not sigma >= 0:
        raise ArgumentError("sigma", sigma, "a number >= 0")
    if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 10:
        raise ArgumentError("max_words", max_words, "an integer >= 10")
    lo, hi = sentiment_sentences
    if not 1 <= lo <= hi:
        raise ArgumentError("sentiment_sentences", sentiment_sentences, "(lo, hi) with 1 <= lo <= hi")
    for name, rate in (("contrast_rate", contrast_rate), ("br_rate", br_rate)):
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ArgumentError(name, rate, "a number in [0, 1]")


def sentiment_sentence(rng: np.random.Generator, label: int, form: str) -> str:
    """One sentence of polarity `label` (1 positive) in `form`: negation or contrast."""
    if form not in FORMS:
        raise ArgumentError("form", form, f"one of {', '.join(FORMS)}")
    own, other = (NEGATIVE_WORDS, POSITIVE_WORDS)[label], (NEGATIVE_WORDS, POSITIVE_WORDS)[1 - label]
    templates = FORMS[form]
    template, subject = templates[rng.integers(len(templates))], SUBJECTS[rng.integers(len(SUBJECTS))]
    text = template.format(s=subject, a=other[rng.integers(len(other))], b=own[rng.integers(len(own))])
    return text[0].upper() + text[1:]


def generate_word_order_reviews(
    n: int,
    seed: int,
    median_words: float = 175.0,
    sigma: float = 0.75,
    max_words: int = 2500,
    sentiment_sentences: tuple[int, int] = (1, 3),
    contrast_rate: float = 1 / 3,
    br_rate: float = 0.05,
) -> Reviews:
    """`n` reviews, balanced 0/1 labels, neutral sentences as `generate_reviews` plus 1-3 sentiment ones.

    All sentiment sentences agree with the label; a `contrast_rate` share are contrasts, the rest negations.
    """
    _check(n, median_words, sigma, max_words, sentiment_sentences, contrast_rate, br_rate)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    fillers = neutral_fillers(rng, n, median_words, sigma, max_words)
    lo, hi = sentiment_sentences

    def sentence(label: int) -> str:
        return sentiment_sentence(rng, label, "contrast" if rng.random() < contrast_rate else "negation")

    reviews = []
    for label, sentences in zip(labels.tolist(), fillers, strict=True):
        count = int(rng.integers(lo, hi + 1))
        reviews.append((place(rng, sentences, count, partial(sentence, label), br_rate), label))
    return reviews
