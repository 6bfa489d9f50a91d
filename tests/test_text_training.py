"""Exercise 13 end to end on generated reviews: order-aware encoders learn word order; heatmaps, explain."""

import csv

import pytest
import torch

from flik_lab.commands.explain import explain
from flik_lab.data.reviews.synthetic import generate_reviews, write_aclimdb, write_parquet
from flik_lab.data.reviews.tokenizer import words
from flik_lab.data.reviews.word_order import generate_word_order_reviews
from flik_lab.training import train

from .helpers.config import compose_config

pytestmark = pytest.mark.slow

# small but real: lengths varied (lognormal, median 60 words, up to 400); the same data settings serve
# every encoder (bench/text_epochs_to_90.py measures epochs to 90 % with them)
LENGTHS = dict(median_words=60, sigma=0.6, max_words=400)
LEARNABILITY = [
    "data.source=parquet",
    "data.val_size=200",
    "data.vocab_size=2000",
    "data.batch_size=32",
    "model.embed_dim=32",
    "model.lr=3e-3",
    "model.dropout=0.1",
    "seed=0",
]
QUIET = ["+trainer.enable_progress_bar=false", "callbacks.progress_bar=null", "callbacks.model_summary=null"]
HIDDEN = {"rnn": 64, "lstm": 32, "bilstm": 32, "attention": 32}
# word order, 3 seeds: 90 % val after 4-5 epochs (lstm), 5-6 (bilstm), 2-3 (attention), 3-4
# (transformer, with its convolution over neighbours); rnn: on the phrase corpus
EPOCHS = {"rnn": 10, "lstm": 8, "bilstm": 8, "attention": 4, "transformer": 5}


@pytest.fixture(scope="module")
def review_corpus(tmp_path_factory):
    """Data dir holding the same phrase-carried reviews in the hub parquet and the aclImdb layouts."""
    data_dir = tmp_path_factory.mktemp("imdb")
    train_reviews = generate_reviews(1800, seed=0, **LENGTHS)
    test_reviews = generate_reviews(400, seed=1, **LENGTHS)
    write_parquet(data_dir, train_reviews, test_reviews)
    write_aclimdb(data_dir, train_reviews, test_reviews)
    return data_dir


@pytest.fixture(scope="module")
def word_order_corpus(tmp_path_factory):
    """Data dir holding reviews whose label only word order tells ("not bad, it is good"), hub parquet."""
    data_dir = tmp_path_factory.mktemp("word_order")
    write_parquet(
        data_dir,
        generate_word_order_reviews(1800, 0, **LENGTHS),
        generate_word_order_reviews(400, 1, **LENGTHS),
    )
    return data_dir


def _overrides(encoder: str, data_dir, tiny: bool = False) -> list[str]:
    """`experiment=imdb_<encoder>` trained until it learns the reviews, or (`tiny`) for 5 batches."""
    extra = [f"model.encoder.hidden_size={HIDDEN[encoder]}"] if encoder in HIDDEN else []
    if encoder == "transformer":
        extra += ["model.encoder.num_layers=2", "model.encoder.num_heads=4", "model.lr=1e-3"]
    base = [f"experiment=imdb_{encoder}", f"data.data_dir={data_dir}", *LEARNABILITY, *extra]
    if tiny:
        return [*base, "debug=tiny", "trainer.limit_train_batches=5"]
    return [*base, *QUIET, f"trainer.max_epochs={EPOCHS[encoder]}"]


@pytest.fixture(scope="module")
def learned(word_order_corpus, tmp_path_factory):
    """`learned(encoder)`: (test metrics, run dir) of the encoder trained once on the word-order reviews."""
    runs = {}

    def run(encoder: str) -> tuple[dict, object]:
        if encoder not in runs:
            out = tmp_path_factory.mktemp(encoder)
            runs[encoder] = train(compose_config("train", out, _overrides(encoder, word_order_corpus))), out
        return runs[encoder]

    return run


@pytest.mark.parametrize("encoder", ["lstm", "bilstm", "attention", "transformer"])
def test_every_order_aware_encoder_learns_word_order(encoder, learned):
    metrics, run = learned(encoder)
    assert metrics["test/acc"] >= 0.90, metrics
    assert metrics["test/auroc"] >= 0.90 and metrics["test/f1"] > 0.85
    assert (run / "checkpoints" / "last.ckpt").is_file()
    heatmaps = sorted((run / "attention").glob("epoch_*.png"))
    with_weights = encoder in ("attention", "transformer")
    assert len(heatmaps) == (EPOCHS[encoder] if with_weights else 0)  # one per epoch, if any


# on word order the vanilla RNN stays near chance in this budget (bench/RESULTS.md): it forgets a
# sentence read 30 words before the end (63 % after 15 epochs); here it learns what a bag of words can
def test_vanilla_rnn_learns_sentiment_phrases(review_corpus, tmp_path):
    metrics = train(compose_config("train", tmp_path, _overrides("rnn", review_corpus)))
    assert metrics["test/acc"] >= 0.90, metrics
    assert metrics["test/auroc"] >= 0.90 and metrics["test/f1"] > 0.85
    assert not list((tmp_path / "attention").glob("epoch_*.png"))  # no attention weights to plot


def _span(tokens: list[str], phrase: str) -> slice:
    """Where the tokens of `phrase` stand in `tokens`."""
    needle = words(phrase)
    start = next(i for i in range(len(tokens)) if tokens[i : i + len(needle)] == needle)
    return slice(start, start + len(needle))


def test_order_flips_the_prediction_and_attention_finds_the_deciding_sentence(learned, tmp_path):
    """The same words in two orders: opposite predictions. The model learned to look for one class's
    evidence (the other is its default): in that review the weight sits on the deciding sentence."""
    ckpt = learned("attention")[1] / "checkpoints" / "last.ckpt"
    masses = []
    for label, phrase in enumerate(
        ["The acting is not good, it is awful.", "The acting is not awful, it is good."]
    ):
        text = (
            f"The story follows Mary, who lives in Paris. {phrase} Later the captain finds the key in Paris."
        )
        overrides = [f"ckpt_path={ckpt}", f"text='{text}'"]
        review = explain(compose_config("explain", tmp_path / str(label), overrides))
        assert (review.p_positive > 0.5) == bool(label), (phrase, review.p_positive)
        span = _span(review.words, phrase)
        assert span.stop - span.start < len(review.words) / 2  # the sentence is under half of the review
        masses.append((float(review.weights[span].sum()), span, int(review.weights.argmax())))
    mass, span, top = max(masses)
    assert mass > 0.8 and span.start <= top < span.stop, masses


def test_teaching_rnn_trains_through_the_framework(review_corpus, tmp_path):
    overrides = [*_overrides("rnn", review_corpus, tiny=True), "model.encoder.implementation=teaching"]
    metrics = train(compose_config("train", tmp_path, overrides))
    assert 0 <= metrics["test/acc"] <= 1


def test_aclimdb_layout_trains_and_explain_reports_weights(review_corpus, tmp_path, capsys):
    run = tmp_path / "run"
    overrides = [*_overrides("attention", review_corpus), "data.source=aclimdb", "trainer.max_epochs=2"]
    metrics = train(compose_config("train", run, overrides))
    assert metrics["val/acc"] > 0.8
    with open(run / "csv" / "metrics.csv") as f:
        assert any(row.get("val/acc") for row in csv.DictReader(f))

    ckpt = run / "checkpoints" / "last.ckpt"
    text = "The story follows John in Paris. Honestly, this movie is an absolute masterpiece."
    review = explain(compose_config("explain", tmp_path / "explain", [f"ckpt_path={ckpt}", f"text='{text}'"]))
    out = capsys.readouterr().out
    assert "p(positive)" in out and "masterpiece" in out
    assert review.p_positive > 0.5
    assert review.weights.sum() == pytest.approx(1.0, abs=1e-5)
    top = review.words[int(review.weights.argmax())]
    assert (tmp_path / "explain" / "attention.png").is_file()
    assert top != "[PAD]"

    with pytest.raises(ValueError, match="text is empty"):
        explain(compose_config("explain", tmp_path / "e2", [f"ckpt_path={ckpt}", "text=' '"]))


def test_predictions_do_not_change_with_extra_padding(review_corpus, tmp_path):
    from flik_lab.utils.checkpoint import read_checkpoint

    run = tmp_path / "run"
    train(compose_config("train", run, [*_overrides("bilstm", review_corpus, tiny=True), "test=false"]))
    model = read_checkpoint(run / "checkpoints" / "last.ckpt").model()
    tokens = torch.randint(2, 100, (3, 12))
    lengths = torch.tensor([12, 7, 3])
    tokens[1, 7:] = 0
    tokens[2, 3:] = 0
    padded = torch.cat([tokens, torch.zeros(3, 9, dtype=torch.long)], dim=1)
    with torch.no_grad():
        assert torch.allclose(model(tokens, lengths)[0], model(padded, lengths)[0], atol=1e-5)


def test_hf_source_trains_through_datasets(review_corpus, tmp_path, monkeypatch):
    """`data.source=hf` reads the hub dataset through `datasets`; here the "hub" is local parquet files."""
    import datasets

    from flik_lab.data.reviews.sources import parquet_files

    real_load = datasets.load_dataset
    calls = []

    def hub_from_local_files(name, **kwargs):
        calls.append(name)
        files = {split: str(path) for split, path in parquet_files(review_corpus).items()}
        return real_load("parquet", data_files=files, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", hub_from_local_files)
    overrides = [*_overrides("lstm", review_corpus), "data.source=hf", "trainer.max_epochs=1"]
    metrics = train(compose_config("train", tmp_path, overrides))
    assert calls == ["stanfordnlp/imdb"] and metrics["test/acc"] > 0.6
