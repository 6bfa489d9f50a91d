"""`flik-lab translate`'s input checks: each bad input is named before a model is loaded or a file written."""

import pytest

from flik_lab.commands.translate import read_sentences, translate

from .helpers.config import compose_config


def test_a_file_of_sentences_is_read_line_by_line(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("siebzehn\n  vierzig \r\nelf", encoding="utf-8")
    assert read_sentences(path) == ["siebzehn", "vierzig", "elf"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"siebzehn\n\nelf\n", "line 2: empty"),
        (b"siebzehn\nf\xfcnf\n", "line 2: not UTF-8"),
        (b"", "holds no sentences"),
    ],
)
def test_a_bad_input_file_names_the_line(tmp_path, content, message):
    path = tmp_path / "in.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as refused:
        read_sentences(path)
    assert str(path) in str(refused.value)


def test_a_missing_input_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt does not exist"):
        read_sentences(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "give exactly one of a sentence"),
        (["text=elf", "input=x.txt"], "give exactly one of a sentence"),
        (["text=' '"], "text is empty"),
    ],
)
def test_text_or_input_exactly_one_and_not_empty(tmp_path, overrides, message):
    cfg = compose_config("translate", tmp_path, ["ckpt_path=nowhere.ckpt", *overrides])
    with pytest.raises(ValueError, match=message):
        translate(cfg)


def test_a_gan_checkpoint_is_not_a_translator(trained_gan, tmp_path):
    ckpt = trained_gan / "checkpoints" / "last.ckpt"
    cfg = compose_config("translate", tmp_path, [f"ckpt_path={ckpt}", "text=elf"])
    with pytest.raises(ValueError, match="not a Translator"):
        translate(cfg)
    assert not (tmp_path / "cross_attention.png").exists()


def test_an_existing_output_is_never_overwritten(tmp_path):
    (tmp_path / "translations.txt").write_text("earlier work\n")
    (tmp_path / "in.txt").write_text("elf\n")
    cfg = compose_config("translate", tmp_path, ["ckpt_path=nowhere.ckpt", f"input={tmp_path / 'in.txt'}"])
    with pytest.raises(FileExistsError, match="translations.txt"):
        translate(cfg)
    assert (tmp_path / "translations.txt").read_text() == "earlier work\n"
