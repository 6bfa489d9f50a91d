"""Exercise 13 end to end on generated reviews: every encoder learns them; heatmaps and explain work."""

import csv

import pytest
import torch

from flik_lab.commands.explain import explain
from flik_lab.data.text.synthetic import generate_reviews, write_aclimdb, write_parquet
from flik_lab.training import train

from .helpers.config import compose_config

pytestmark = pytest.mark.slow

# small but real: sentiment carried by a few phrases among distractor sentences, lengths varied
# (lognormal, median 60 words, up to 400); the same settings serve every encoder
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
EPOCHS = {"rnn": 10}  # the vanilla RNN needs more passes to latch onto a phrase far from the end (4: 67 %)


@pytest.fixture(scope="module")
def review_corpus(tmp_path_factory):
    """Data dir holding the same generated reviews in the hub parquet and the aclImdb layouts."""
    data_dir = tmp_path_factory.mktemp("imdb")
    train_reviews = generate_reviews(1800, seed=0, median_words=60, sigma=0.6, max_words=400)
    test_reviews = generate_reviews(400, seed=1, median_words=60, sigma=0.6, max_words=400)
    write_parquet(data_dir, train_reviews, test_reviews)
    write_aclimdb(data_dir, train_reviews, test_reviews)
    return data_dir


def _overrides(encoder: str, data_dir, tiny: bool = False) -> list[str]:
    """`experiment=imdb_<encoder>` trained until it learns the reviews, or (`tiny`) for 5 batches."""
    extra = [f"model.encoder.hidden_size={HIDDEN[encoder]}"] if encoder in HIDDEN else []
    if encoder == "transformer":
        extra += ["model.encoder.num_layers=2", "model.encoder.num_heads=4", "model.lr=1e-3"]
    base = [f"experiment=imdb_{encoder}", f"data.data_dir={data_dir}", *LEARNABILITY, *extra]
    if tiny:
        return [*base, "debug=tiny", "trainer.limit_train_batches=5"]
    return [*base, *QUIET, f"trainer.max_epochs={EPOCHS.get(encoder, 4)}"]


@pytest.mark.parametrize("encoder", ["rnn", "lstm", "bilstm", "attention", "transformer"])
def test_every_encoder_learns_generated_reviews(encoder, review_corpus, tmp_path):
    metrics = train(compose_config("train", tmp_path, _overrides(encoder, review_corpus)))
    assert metrics["test/acc"] >= 0.90, metrics
    assert metrics["test/auroc"] >= 0.90 and metrics["test/f1"] > 0.85
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    heatmaps = sorted((tmp_path / "attention").glob("epoch_*.png"))
    if encoder in ("attention", "transformer"):
        assert len(heatmaps) == EPOCHS.get(encoder, 4)  # one per epoch
    else:
        assert not heatmaps  # no attention weights to plot


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
    from flik_lab.utils.checkpoint import load_checkpoint, model_from_checkpoint

    run = tmp_path / "run"
    train(compose_config("train", run, [*_overrides("bilstm", review_corpus, tiny=True), "test=false"]))
    model = model_from_checkpoint(load_checkpoint(run / "checkpoints" / "last.ckpt"))
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

    from flik_lab.data.text.sources import parquet_files

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
