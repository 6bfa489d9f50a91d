"""`flik-lab translate` as a German speaker types it: the sentence after the overrides or on stdin, warnings
for sentences cut or read with unknown characters, paths from the current folder, scores against
references."""

import io
import json
import sys
from pathlib import Path

import pytest

from flik_lab.commands.translate import LoadedTranslator, scores, translate
from flik_lab.commands.typed_text import hydra_quoted, typed_text

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config
from .helpers.translation import TINY_TRANSLATION as SHARED_TINY

TINY_TRANSLATION = [*SHARED_TINY, "model.beam_size=2", "seed=0"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    from flik_lab.training import train

    run_dir, data_dir = tmp_path_factory.mktemp("translator"), tmp_path_factory.mktemp("numbers")
    train(compose_config("train", run_dir, [*TINY_TRANSLATION, f"data.data_dir={data_dir}"]))
    return next((run_dir / "checkpoints").glob("*.ckpt"))


def _config(tmp_path, overrides):
    return compose_config("translate", tmp_path / "run", overrides)


@pytest.mark.parametrize(
    "text", ["fünfhundert", "zéro", "l'an", "a\\", "\\'", "x${y}", "Hallo, wie geht's?", "null"]
)
def test_typed_text_reaches_the_config_unchanged(tmp_path, text):
    for args in (["ckpt_path=x", text], ["ckpt_path=x", f"text={text}"]):
        cfg = _config(tmp_path, typed_text(args))
        assert cfg.text == text, (args, typed_text(args))


def test_a_text_value_in_quotes_is_hydras_and_a_quoted_word_is_the_sentence(tmp_path):
    assert _config(tmp_path, typed_text(["ckpt_path=x", "text='fünf, sechs'"])).text == "fünf, sechs"
    assert _config(tmp_path, typed_text(["ckpt_path=x", '"fünf"'])).text == '"fünf"'


def test_paths_may_hold_non_ascii_letters_and_interpolations(tmp_path):
    args = ["ckpt_path=é/l'été.ckpt", "input=données.txt", "output=${paths.output_dir}/übersetzt.txt"]
    cfg = _config(tmp_path, typed_text(args))
    assert (cfg.ckpt_path, cfg.input) == ("é/l'été.ckpt", "données.txt")
    assert cfg.output == f"{tmp_path / 'run'}/übersetzt.txt"


def test_the_words_after_the_overrides_are_one_sentence():
    args = ["-m", "--cfg", "job", "ckpt_path=x", "drei", "hundert", "~seed", "--info", "zwei"]
    assert typed_text(args) == [
        "-m",
        "--cfg",
        "job",
        "ckpt_path=x",
        "~seed",
        "--info",
        f"text={hydra_quoted('drei hundert zwei')}",
    ]
    assert typed_text(["ckpt_path=x", "--info", "config"]) == ["ckpt_path=x", "--info", "config"]


@pytest.mark.parametrize("given", ["text=elf", "input=x.txt"])
def test_a_sentence_beside_text_or_input_is_refused(given, capsys):
    with pytest.raises(SystemExit) as stopped:
        typed_text(["ckpt_path=x", given, "zwölf"])
    assert stopped.value.code == 2
    assert "flik-lab: error: the sentence 'zwölf' is given beside text= or input=" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_non_ascii_sentence_typed_after_the_overrides(ckpt, tmp_path):
    result = run_flik_lab(tmp_path, "translate", f"ckpt_path={ckpt}", "fünfzig", "heatmap=fünfzig.png")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("1. "), result.stdout
    assert (tmp_path / "fünfzig.png").stat().st_size > 1000  # heatmap= from the current folder
    assert "warning" not in result.stderr


@pytest.mark.slow
@pytest.mark.multiprocess
def test_stdin_is_translated_and_scored_against_references(ckpt, tmp_path):
    (tmp_path / "refs.txt").write_text("fifty\nthirty-one\n", encoding="utf-8")
    result = run_flik_lab(
        tmp_path,
        "translate",
        f"ckpt_path={ckpt}",
        "input=-",
        "output=out/en.txt",
        "references=refs.txt",
        input="fünfzig\neinunddreißig\n",
    )
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "out" / "en.txt").read_text(encoding="utf-8").splitlines()) == 2
    found = json.loads((tmp_path / "out" / "en.scores.json").read_text())
    assert set(found) == {"bleu", "chrf", "chrf++", "exact_match", "sentences"} and found["sentences"] == 2
    assert f"BLEU {found['bleu']:.2f}" in result.stdout


@pytest.mark.slow
@pytest.mark.multiprocess
def test_empty_stdin_is_one_line_error(tmp_path):
    run = tmp_path / "run"
    (tmp_path / "x.ckpt").write_bytes(b"")  # exists: stdin is read before the checkpoint
    result = run_flik_lab(
        tmp_path, "translate", "ckpt_path=x.ckpt", "input=-", f"hydra.run.dir={run}", input=""
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "flik-lab: error: input=- reads stdin, which held no sentences; pipe them in, one per line"
    ]
    assert not run.exists()


def test_stdin_lines_are_read_like_a_file(tmp_path, monkeypatch):
    from flik_lab.commands.translate import read_sentences

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("fünf\r\n zwei \n".encode())))
    assert read_sentences("-") == ["fünf", "zwei"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"f\xfcnf\n")))
    with pytest.raises(ValueError, match="input=-, line 1: not UTF-8"):
        read_sentences("-")


@pytest.mark.slow
def test_cut_and_unknown_sentences_are_named_and_translated(ckpt, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    long = " ".join(["einundfünfzig"] * 40)
    (tmp_path / "in.txt").write_text(f"zwölf\n{long}\nQ€ zwölf\n", encoding="utf-8")
    cfg = _config(tmp_path, [f"ckpt_path={ckpt}", "input=in.txt", "output=en.txt"])
    pieces = len(LoadedTranslator(cfg).source_tokenizer.encode(long, add_special_tokens=False).ids)
    assert translate(cfg) == [Path("en.txt")]  # output= from the current folder
    assert len((tmp_path / "en.txt").read_text(encoding="utf-8").splitlines()) == 3
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [
        f"flik-lab: warning: line 2: {pieces} pieces, cut to 64 (data.max_length)",
        "flik-lab: warning: line 3: unknown characters 'Q', '€' read as [UNK]",
    ]
    cfg = _config(tmp_path, [f"ckpt_path={ckpt}", "text='Q zwölf'", "heatmap=h.png"])
    translate(cfg)
    assert capsys.readouterr().err == "flik-lab: warning: text: unknown character 'Q' read as [UNK]\n"
    assert (tmp_path / "h.png").is_file()


def test_references_must_match_the_input_line_for_line(tmp_path):
    (tmp_path / "in.txt").write_text("zwölf\nelf\n", encoding="utf-8")
    (tmp_path / "refs.txt").write_text("twelve\n", encoding="utf-8")
    overrides = [f"input={tmp_path / 'in.txt'}", f"references={tmp_path / 'refs.txt'}"]
    cfg = _config(tmp_path, ["ckpt_path=nowhere.ckpt", *overrides])
    with pytest.raises(ValueError, match="refs.txt holds 1 lines but input=.*in.txt holds 2"):
        translate(cfg)  # before the checkpoint is read
    cfg = _config(tmp_path, ["ckpt_path=nowhere.ckpt", "text=elf", overrides[1]])
    with pytest.raises(ValueError, match="references= scores a file of translations"):
        translate(cfg)


def test_an_existing_scores_file_is_never_overwritten(tmp_path):
    (tmp_path / "in.txt").write_text("zwölf\n", encoding="utf-8")
    (tmp_path / "en.scores.json").write_text("{}")
    overrides = [f"input={tmp_path / 'in.txt'}", f"references={tmp_path / 'in.txt'}"]
    cfg = _config(tmp_path, ["ckpt_path=nowhere.ckpt", *overrides, f"output={tmp_path / 'en.txt'}"])
    with pytest.raises(FileExistsError, match="en.scores.json"):
        translate(cfg)


def test_scores_are_sacrebleus():
    # BLEU by hand: 1- to 4-gram precisions 5/6, 4/5, 3/4, 2/3, no brevity penalty: (1/3) ** (1/4)
    found = scores(["the cat is on the mat", "zwei"], ["a cat is on the mat", "zwei"])
    assert found["exact_match"] == 0.5 and found["sentences"] == 2
    alone = scores(["the cat is on the mat"], ["a cat is on the mat"])
    assert alone["bleu"] == pytest.approx(100 * (1 / 3) ** 0.25, abs=1e-3)
    assert scores(["four words or more"], ["four words or more"]) == {
        "bleu": pytest.approx(100),
        "chrf": pytest.approx(100),
        "chrf++": pytest.approx(100),
        "exact_match": 1.0,
        "sentences": 1,
    }
    assert alone["chrf"] != alone["chrf++"]
