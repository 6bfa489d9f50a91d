"""Translation end to end on the offline numbers corpus: both models learn unseen numbers, the RNN's
cross-attention crosses where German word order does, `translate` and `eval` read the checkpoints."""

import difflib
import json

import pytest
from omegaconf import OmegaConf

from flik_lab.commands.translate import LoadedTranslator
from flik_lab.data.sentence_pairs.numbers import number_splits
from flik_lab.data.sentence_pairs.tokenizer import tokens
from flik_lab.training import train

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config

pytestmark = pytest.mark.slow

# numbers 1..999: 699 train / 100 val / 200 test, split by number (no test number is trained on)
NUMBERS = ["data.max_number=999", "data.val_size=100", "data.test_size=200", "data.batch_size=32", "seed=0"]
QUIET = ["+trainer.enable_progress_bar=false", "callbacks.progress_bar=null", "callbacks.model_summary=null"]
SMALL = {
    "rnn": ["model.network.embed_dim=32", "model.network.hidden_size=64", "model.lr=3e-3"],
    "transformer": [
        "model.network.d_model=64",
        "model.network.num_heads=4",
        "model.network.num_encoder_layers=2",
        "model.network.num_decoder_layers=2",
        "model.network.ff_dim=256",
        "model.network.dropout=0.0",
        "model.lr=2e-3",
    ],
}
EPOCHS = {"rnn": 12, "transformer": 12}


def _overrides(model: str, data_dir) -> list[str]:
    return [
        f"experiment=translate_numbers_{model}",
        f"data.data_dir={data_dir}",
        f"trainer.max_epochs={EPOCHS[model]}",
        *NUMBERS,
        *SMALL[model],
        *QUIET,
    ]


@pytest.fixture(scope="module", params=["rnn", "transformer"])
def trained(request, tmp_path_factory):
    """A model trained on numbers up to 999: (name, run directory, final metrics)."""
    data_dir, run_dir = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp(request.param)
    metrics = train(compose_config("train", run_dir, _overrides(request.param, data_dir)))
    return request.param, run_dir, metrics


def test_both_models_translate_unseen_numbers(trained):
    name, _, metrics = trained
    print(name, {key: round(value, 4) for key, value in metrics.items()})
    assert metrics["test/exact_match"] >= 0.9, (name, metrics)
    assert metrics["test/bleu"] > 90, (name, metrics)


def test_looking_up_the_nearest_training_number_cannot_translate_the_test_split():
    """The baseline a learner must beat: the test numbers are unseen, so recalling the training pair whose
    German is closest gets (almost) none right. It would succeed if the split leaked numbers."""
    splits = number_splits(1, 999, 100, 200, seed=0, source_lang="de", target_lang="en")
    train_pairs = dict(splits["train"])
    right = 0
    for source, target in splits["test"]:
        (nearest,) = difflib.get_close_matches(source, train_pairs, n=1, cutoff=0.0)
        right += train_pairs[nearest] == target
    assert right / len(splits["test"]) < 0.05


def _loaded(ckpt, beam_size=None) -> LoadedTranslator:
    cfg = OmegaConf.create(
        {"ckpt_path": str(ckpt), "trusted_targets": [], "beam_size": beam_size, "length_penalty": None}
    )
    return LoadedTranslator(cfg)


def _checkpoint(run_dir):
    return next((run_dir / "checkpoints").glob("epoch_*.ckpt"))


def _at(pieces: list[str], word: str) -> int:
    return next(i for i, piece in enumerate(pieces) if word in piece)


def test_rnn_attention_crosses_where_german_puts_units_first(trained):
    """`siebenundzwanzig` -> `twenty-seven`: `twen` attends to `zwanzig`, `seven` to `sieben` (crossed)."""
    name, run_dir, _ = trained
    if name != "rnn":
        pytest.skip("the crossing is checked on the RNN's additive attention")
    loaded = _loaded(_checkpoint(run_dir), beam_size=1)
    cases = [
        ("siebenundzwanzig", "sieben", "zwanzig", "seven", "twen"),
        ("dreihundertvierundachtzig", "vier", "achtzig", "four", "eigh"),
        ("neunundfünfzig", "neun", "fünfzig", "nine", "fif"),
    ]
    for german, units, tens, english_units, english_tens in cases:
        (found,), (ids,) = loaded.translate([german])
        source = tokens(loaded.source_tokenizer, ids)
        target = tokens(loaded.target_tokenizer, found[0].tokens)
        assert loaded.text(found[0]).endswith(f"-{english_units}"), (german, loaded.text(found[0]))
        assert _at(source, units) < _at(source, tens), source  # German: units first
        attention = found[0].attention
        looked_at = {
            english_tens: int(attention[_at(target, english_tens)].argmax()),
            english_units: int(attention[_at(target, english_units)].argmax()),
        }
        assert looked_at == {english_tens: _at(source, tens), english_units: _at(source, units)}, (
            german,
            source,
            target,
            attention,
        )


def test_translate_prints_the_nbest_list_and_writes_the_heatmap(trained, tmp_path):
    name, run_dir, _ = trained
    if name != "rnn":
        pytest.skip("the command runs the same code for both models: once through the CLI suffices")
    ckpt = _checkpoint(run_dir)
    result = run_flik_lab(
        tmp_path,
        "translate",
        f"ckpt_path={ckpt}",
        "text=dreihundertsiebenundzwanzig",
        "beam_size=4",
        "nbest=3",
        f"hydra.run.dir={tmp_path / 'one'}",
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert len(lines) == 3, result.stdout
    scores = [float(line.split()[1]) for line in lines]
    assert scores == sorted(scores, reverse=True)
    assert lines[0].endswith("three hundred and twenty-seven"), (name, lines)
    assert (tmp_path / "one" / "cross_attention.png").stat().st_size > 5000

    # a batch of 2 pads the shorter sentence: its translation must be the one it gets alone (beam 4)
    sentences = ["siebenundzwanzig", "neunhundertneunundneunzig", "vierhundertzwölf"]
    (tmp_path / "in.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    file_run = [f"input={tmp_path / 'in.txt'}", "batch_size=2", f"hydra.run.dir={tmp_path / 'file'}"]
    result = run_flik_lab(tmp_path, "translate", f"ckpt_path={ckpt}", *file_run)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "file" / "translations.txt").read_text(encoding="utf-8").splitlines()
    loaded = _loaded(ckpt)
    alone = [loaded.text(loaded.translate([sentence])[0][0][0]) for sentence in sentences]
    assert written == alone, (name, written, alone)
    assert written[:2] == ["twenty-seven", "nine hundred and ninety-nine"], (name, written)


def test_eval_reproduces_the_test_metrics_of_training(trained, tmp_path):
    name, run_dir, metrics = trained
    if name != "rnn":
        pytest.skip("one model suffices: eval rebuilds data and model from the stored configs")
    ckpt = _checkpoint(run_dir)
    result = run_flik_lab(tmp_path, "eval", f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path / 'e'}")
    assert result.returncode == 0, result.stderr
    evaluated = json.loads((tmp_path / "e" / "metrics.json").read_text())
    for key in ("test/exact_match", "test/bleu", "test/chrf"):
        assert evaluated[key] == pytest.approx(metrics[key], abs=1e-6), key
