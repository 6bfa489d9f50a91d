"""Word-order reviews: seeded, balanced, each word as frequent in both classes, so a bag of words is blind."""

from collections import Counter

import numpy as np
import pytest

from flik_lab.data.reviews.synthetic import generate_reviews
from flik_lab.data.reviews.tokenizer import words
from flik_lab.data.reviews.word_order import (
    NEGATIVE_WORDS,
    POSITIVE_WORDS,
    generate_word_order_reviews,
    sentiment_sentence,
)
from flik_lab.metrics.bag_of_words import bag_of_words_accuracy

LENGTHS = dict(median_words=60, sigma=0.6, max_words=400)  # as the learnability test's corpus


def test_reviews_are_deterministic_balanced_and_seeded():
    reviews = generate_word_order_reviews(200, seed=3, **LENGTHS)
    assert reviews == generate_word_order_reviews(200, seed=3, **LENGTHS)
    assert reviews != generate_word_order_reviews(200, seed=4, **LENGTHS)
    assert Counter(label for _, label in reviews) == {0: 100, 1: 100}


SWAP = dict(zip(NEGATIVE_WORDS + POSITIVE_WORDS, POSITIVE_WORDS + NEGATIVE_WORDS, strict=True))
OPERATORS = {"negation": {"not", "never", "no"}, "contrast": {"but", "although"}}


@pytest.mark.parametrize("form", ["negation", "contrast"])
def test_each_sentence_holds_both_polarities_and_an_operator(form):
    for seed in range(20):
        positive, negative = (sentiment_sentence(np.random.default_rng(seed), y, form) for y in (1, 0))
        # the same draws with the label swapped: same template and subject, each adjective from the other pool
        assert [SWAP.get(word, word) for word in words(positive)] == words(negative)
        assert sorted(word in POSITIVE_WORDS for word in words(positive) if word in SWAP) == [False, True]
        assert OPERATORS[form] & set(words(positive))


def test_every_word_is_as_frequent_in_both_classes():
    counts = {0: Counter(), 1: Counter()}
    for text, label in generate_word_order_reviews(6000, seed=0, median_words=20, max_words=100):
        counts[label].update(words(text))
    for word in [*SWAP, *OPERATORS["negation"], *OPERATORS["contrast"], "first", "end"]:
        difference, total = abs(counts[1][word] - counts[0][word]), counts[1][word] + counts[0][word]
        assert total > 100 and difference < 4 * total**0.5, (word, counts[0][word], counts[1][word])


@pytest.mark.slow  # fits two logistic regressions and an MLP: 6 s
def test_bag_of_words_solves_the_phrase_corpus_and_not_the_word_order_one():
    old = bag_of_words_accuracy(generate_reviews(1800, 0, **LENGTHS), generate_reviews(400, 1, **LENGTHS))
    train = generate_word_order_reviews(1800, 0, **LENGTHS)
    test = generate_word_order_reviews(400, 1, **LENGTHS)
    new, mlp = bag_of_words_accuracy(train, test), bag_of_words_accuracy(train, test, hidden=64)
    assert old >= 0.9, old  # logistic regression on word counts can tell sentiment from words
    assert new <= 0.6, new  # ... but not from these words without their order
    assert mlp <= 0.6, mlp  # nor can a non-linear reader of the counts (words seen together)


def test_contrast_rate_zero_has_no_contrasts():
    reviews = generate_word_order_reviews(100, seed=0, contrast_rate=0.0, **LENGTHS)
    assert not any(" but " in text for text, _ in reviews)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n=0: expected a positive integer"),
        ({"median_words": 0}, "median_words=0: expected a positive number"),
        ({"sigma": -1}, "sigma=-1: expected a number >= 0"),
        ({"max_words": 5}, "max_words=5: expected an integer >= 10"),
        ({"sentiment_sentences": (0, 2)}, r"sentiment_sentences=\(0, 2\): expected \(lo, hi\)"),
        ({"contrast_rate": 1.5}, r"contrast_rate=1.5: expected a number in \[0, 1\]"),
        ({"br_rate": -0.1}, r"br_rate=-0.1: expected a number in \[0, 1\]"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_word_order_reviews(**{"n": 10, "seed": 0, **kwargs})


def test_unknown_form_is_named():
    with pytest.raises(ValueError, match="form='sarcastic': expected one of negation, contrast"):
        sentiment_sentence(np.random.default_rng(0), 1, "sarcastic")


def test_bag_of_words_refuses_a_negative_width():
    with pytest.raises(ValueError, match="hidden=-1: expected an integer >= 0"):
        bag_of_words_accuracy([("good", 1)], [("bad", 0)], hidden=-1)
