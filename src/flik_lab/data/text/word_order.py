"""Synthetic reviews whose label only word order tells: plain, negated and contrasting sentiment.

A positive review says "the acting is good", "it is by no means awful" or "awful at first, but good in
the end"; a negative one the same with the adjectives' polarity swapped. Plain and negated sentences
are equally likely and the adjective pools are the same size, so every word has the same expected
count in both classes: a bag of words sees no difference, a reader of order does.
"""

from functools import partial

import numpy as np

from flik_lab.data.text.sources import Reviews
from flik_lab.data.text.synthetic import neutral_fillers, place
from flik_lab.utils.arguments import ArgumentError

POSITIVE_WORDS = ["good", "great", "excellent", "wonderful", "brilliant", "superb", "enjoyable", "moving"]
NEGATIVE_WORDS = ["bad", "awful", "terrible", "boring", "dull", "poor", "weak", "dreadful"]
SUBJECTS = [
    "the acting", "the plot", "the script", "the music", "the ending", "the cast", "the story",
    "the camera work", "the dialogue", "the film",
]  # fmt: skip
# {s}: a subject; {a}: an adjective of the sentence's polarity (plain) or of the opposite one (negated)
PLAIN = ["{s} is {a}.", "I found {s} {a}.", "Overall it is {a}.", "Honestly, {s} was really {a}."]
NEGATED = [
    "{s} is not {a}.", "It is by no means {a}.", "I would not call it {a}.", "{s} was never {a}.",
]  # fmt: skip
# {a} opposite, {b} the sentence's polarity: the clause after "but" decides
CONTRAST = [
    "{a} at first, but {b} in the end.",
    "{s} starts {a}, but it ends up {b}.",
    "{s} seems {a}, but is {b}.",
]
FORMS = ("plain", "negated", "contrast")


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


def _capitalised(text: str) -> str:
    return text[0].upper() + text[1:]


def sentiment_sentence(rng: np.random.Generator, label: int, form: str) -> str:
    """One sentence of polarity `label` (1 positive) in `form`: plain, negated or contrast."""
    own, other = (NEGATIVE_WORDS, POSITIVE_WORDS)[label], (NEGATIVE_WORDS, POSITIVE_WORDS)[1 - label]
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    if form == "plain":
        text = PLAIN[rng.integers(len(PLAIN))].format(s=subject, a=own[rng.integers(len(own))])
    elif form == "negated":
        text = NEGATED[rng.integers(len(NEGATED))].format(s=subject, a=other[rng.integers(len(other))])
    elif form == "contrast":
        template = CONTRAST[rng.integers(len(CONTRAST))]
        text = template.format(s=subject, a=other[rng.integers(len(other))], b=own[rng.integers(len(own))])
    else:
        raise ArgumentError("form", form, f"one of {', '.join(FORMS)}")
    return _capitalised(text)


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

    All sentiment sentences agree with the label; a `contrast_rate` share are contrasts, the rest plain or
    negated with equal odds (what keeps a bag of words blind).
    """
    _check(n, median_words, sigma, max_words, sentiment_sentences, contrast_rate, br_rate)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    fillers = neutral_fillers(rng, n, median_words, sigma, max_words)
    lo, hi = sentiment_sentences
    odds = [(1 - contrast_rate) / 2, (1 - contrast_rate) / 2, contrast_rate]

    def sentence(label: int) -> str:
        return sentiment_sentence(rng, label, FORMS[rng.choice(len(FORMS), p=odds)])

    reviews = []
    for label, sentences in zip(labels.tolist(), fillers, strict=True):
        count = int(rng.integers(lo, hi + 1))
        reviews.append((place(rng, sentences, count, partial(sentence, label), br_rate), label))
    return reviews
