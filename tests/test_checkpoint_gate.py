"""What a crafted or half-written checkpoint, or a hostile input file, may not make flik-lab do: each case a
user or an attacker found, reproduced as they reported it."""

import os
import shutil
import struct
import sys
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from flik_lab.commands.eval import evaluate
from flik_lab.commands.sample import sample
from flik_lab.commands.stylize import load_image
from flik_lab.commands.translate import read_sentences
from flik_lab.data.reviews.tokenizer import build_tokenizer
from flik_lab.data.sentence_pairs.sources import read_tsv
from flik_lab.data.tokenizer_state import checked_tokenizer
from flik_lab.training import train
from flik_lab.utils.checkpoint import CheckpointError, read_checkpoint
from flik_lab.utils.errors import InputError
from flik_lab.utils.resume import resume_path

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config

GAN_RESUME = [
    "debug=tiny",
    "logger=[csv]",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=2",
    "test=false",
]


def _loaded(run: Path, name: str = "last.ckpt") -> dict:
    return torch.load(run / "checkpoints" / name, weights_only=True)


def _saved(ckpt: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # pickling a deeply nested config recurses
    try:
        torch.save(ckpt, path)
    finally:
        sys.setrecursionlimit(limit)
    return path


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("four years of work")
    return victim


@pytest.mark.slow
@pytest.mark.parametrize("url", ["local://{}", "{}"])
def test_a_crafted_best_model_path_deletes_nothing_on_resume(url, trained_gan, tmp_path):
    victim = _victim(tmp_path)
    ckpt = _loaded(trained_gan)
    for state in ckpt["callbacks"].values():
        if "best_model_path" in state:
            state.update(best_model_path=url.format(victim), last_model_path=url.format(victim))
            state["best_k_models"] = {url.format(victim): torch.tensor(1e9)}
            state["kth_best_model_path"] = url.format(victim)
    crafted = _saved(ckpt, tmp_path / "crafted.ckpt")
    run = tmp_path / "run"
    train(compose_config("train", run, [*GAN_RESUME, f"ckpt_path={crafted}"]))
    assert (victim / "thesis.tex").read_text() == "four years of work"
    assert (run / "checkpoints" / "last.ckpt").is_file()


def _gan_with_data(trained_gan: Path, tmp_path: Path, data: dict) -> Path:
    ckpt = _loaded(trained_gan)
    ckpt["flik_lab"]["data"] = data
    return _saved(ckpt, tmp_path / "crafted.ckpt")


def test_a_stored_data_config_of_another_kind_is_refused_before_it_writes(trained_gan, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    translation = {"_target_": "flik_lab.data.translation.TranslationDataModule", "data_dir": str(elsewhere)}
    crafted = _gan_with_data(trained_gan, tmp_path, translation)
    cfg = compose_config("eval", tmp_path / "out", [f"ckpt_path={crafted}", "debug=tiny", "logger=[]"])
    with pytest.raises(InputError, match="GAN trains on images, but TranslationDataModule provides"):
        evaluate(cfg)
    assert not elsewhere.exists()


def test_the_stored_data_dir_is_replaced_by_the_users(trained_gan, tmp_path):
    data = {"_target_": "flik_lab.data.celeba.CelebADataModule", "data_dir": "/elsewhere"}
    ckpt = read_checkpoint(_gan_with_data(trained_gan, tmp_path, data))
    assert ckpt.data_config(data_dir=str(tmp_path)).data_dir == str(tmp_path)


def test_kill_9_between_two_checkpoint_writes_resumes_from_the_newest_complete_one(trained_gan, tmp_path):
    # the state kill -9 leaves after epoch_000.ckpt was renamed into place and before last.ckpt was
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(trained_gan / "checkpoints" / "epoch_000.ckpt", run / "checkpoints" / "epoch_000.ckpt")
    dead = 2**22 + 12345  # above the default pid_max: no such process
    partial = run / "checkpoints" / f".last.ckpt.{dead}.tmp"
    partial.write_bytes(b"PK\x03\x04 half a zip")
    assert resume_path("last", run) == str(run / "checkpoints" / "epoch_000.ckpt")
    assert not partial.exists()


@pytest.mark.slow
def test_kill_9_between_two_checkpoint_writes_is_resumed_by_the_same_command(trained_gan, tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    shutil.copy(trained_gan / "checkpoints" / "epoch_000.ckpt", run / "checkpoints" / "epoch_000.ckpt")
    (run / "checkpoints" / f".last.ckpt.{2**22 + 1}.tmp").write_bytes(b"half")
    train(compose_config("train", run, [*GAN_RESUME, "ckpt_path=last"]))
    assert _loaded(run)["epoch"] == 1 and not list(run.rglob("*.tmp"))


def test_a_partial_file_of_a_running_process_is_kept(tmp_path):
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    mine = checkpoints / f".last.ckpt.{os.getpid()}.tmp"
    mine.write_bytes(b"being written")
    assert resume_path("last", tmp_path) is None and mine.exists()


def _deep(depth: int) -> dict:
    node: dict = {"_target_": "flik_lab.models.dcgan.Generator"}
    for _ in range(depth):
        node = {"a": node}
    return node


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda c: c["flik_lab"]["model"].update(generator=_deep(3000)), "nests deeper than"),
        (lambda c: c["flik_lab"]["model"].update(latent_dim=10**13), "refused before allocating"),
        (lambda c: c["flik_lab"]["model"]["generator"].update(latent_dim=10**13), "generator.net.0.weight"),
        (lambda c: c["flik_lab"]["model"]["generator"].update(image_size=10**6), "image_size=1000000"),
        (
            lambda c: c["state_dict"].update({"generator.net.0.weight": torch.zeros(3)}),
            "generator.net.0.weight",
        ),
        (lambda c: c["state_dict"].pop("generator.net.0.weight"), "lacks 'generator.net.0.weight'"),
        (lambda c: c["state_dict"].update(evil=torch.zeros(1)), "unknown 'evil'"),
        (lambda c: c["state_dict"].update(evil="rm -rf"), "not a named tensor"),
        (lambda c: [t.fill_(float("nan")) for t in c["state_dict"].values() if t.is_floating_point()], "NaN"),
        (lambda c: c["flik_lab"].update(wandb_run_id="../../x"), "wandb_run_id"),
        (lambda c: c["loops"]["fit_loop"]["epoch_loop.state_dict"].update(_batches_that_stepped=-5), "count"),
        (lambda c: c.update(global_step="many"), "global_step"),
    ],
)
def test_a_crafted_part_is_refused_by_name_before_anything_is_allocated(edit, needle, trained_gan, tmp_path):
    ckpt = _loaded(trained_gan)
    edit(ckpt)
    path = _saved(ckpt, tmp_path / "crafted.ckpt")
    cfg = compose_config("sample", tmp_path / "out", [f"ckpt_path={path}", "num_samples=4"])
    with pytest.raises(CheckpointError, match=needle) as refused:
        sample(cfg)
    assert f"ckpt_path={path}" in str(refused.value)
    assert not (tmp_path / "out").exists()


def _imdb_tokenizer_json() -> str:
    return build_tokenizer(
        ["a fine film", "a bad film"], vocab_size=20, min_frequency=1, max_length=16
    ).to_str()


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda t: t.replace('"Regex":"<br\\\\s*/?>"', '"Regex":"(a*)*b"'), "normalizer"),
        (lambda t: t.replace('"Whitespace"', '"ByteLevel"'), "pre-tokenizer"),
        (lambda t: t[: len(t) // 2], "not a tokenizer's JSON"),
        (lambda t: t.replace('"[UNK]":1', '"[UNK]":1000'), "ids are not 0 to"),
        (lambda t: t.replace('"max_length":16', '"max_length":1e12'), "max_length"),
        (lambda t: 42, "expected a tokenizer's JSON"),
    ],
)
def test_a_crafted_tokenizer_is_refused_before_the_tokenizers_library_reads_it(edit, needle):
    text = _imdb_tokenizer_json()
    written = [build_tokenizer(["x"], 10, 1, 8)]
    assert checked_tokenizer(text, "tokenizer", written) == text
    with pytest.raises(InputError, match=needle):
        checked_tokenizer(edit(text), "tokenizer", written)


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A 1x1 PNG whose header claims `width` x `height`: what a decompression bomb looks like to a reader."""
    Image.new("L", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    ihdr = data[12:29]  # chunk type + 13 bytes of IHDR
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("side", [10_000, 15_000])
def test_a_decompression_bomb_is_refused_by_name(side, tmp_path):
    bomb = _png_claiming(tmp_path / "bomb.png", side, side)
    with pytest.raises(InputError, match=rf"input .*bomb.png (is {side}x{side} pixels|.*decompression bomb)"):
        load_image(bomb, 3, 64)


def test_translate_input_drops_a_byte_order_mark(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes("\ufeffdreihundert\nzwei\n".encode())
    assert read_sentences(path) == ["dreihundert", "zwei"]


def test_a_tsv_with_cr_only_line_endings_is_read_line_by_line(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(b"three\tdrei\rfour\tvier\rfive\tfuenf\r")
    pairs = read_tsv(path, source_column=1)
    assert len(pairs) == 3


def _left_behind(cwd: Path) -> list[Path]:
    """What a stopped command left under `outputs/`: files or run directories (`.hydra`)."""
    return [p for p in (cwd / "outputs").rglob("*") if p.is_file() or p.name == ".hydra"]


def test_a_checkpoint_with_nan_weights_gives_no_images(trained_gan, tmp_path):
    ckpt = _loaded(trained_gan)
    for value in ckpt["state_dict"].values():
        if value.is_floating_point():
            value.fill_(float("nan"))
    path = _saved(ckpt, tmp_path / "nan.ckpt")
    result = run_flik_lab(tmp_path, "sample", f"ckpt_path={path}", "num_samples=4")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "NaN or infinite" in result.stderr and "Traceback" not in result.stderr
    assert not _left_behind(tmp_path)


@pytest.mark.parametrize(
    ("command", "args", "needle"),
    [
        ("translate", ["ckpt_path=missing.ckpt", "text=drei"], "ckpt_path=missing.ckpt does not exist"),
        ("stylize", ["ckpt_path=x.ckpt", "input=nope/"], "input=nope does not exist"),
    ],
)
def test_a_user_error_in_a_checkpoint_command_is_one_line(command, args, needle, tmp_path):
    (tmp_path / "x.ckpt").write_bytes(b"")  # exists: the input is checked before the checkpoint is read
    result = run_flik_lab(tmp_path, command, *args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        f"flik-lab: error: {result.stderr.split(': error: ')[1].strip()}"
    ]
    assert needle in result.stderr and not _left_behind(tmp_path)


def _random_state(ckpt: dict) -> dict:
    return next(v for k, v in ckpt["callbacks"].items() if k.startswith("RandomStateInCheckpoint"))


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda c: c.update(MNIST5kDataModule="a string"), "MNIST5kDataModule state = 'a string'"),
        (lambda c: _random_state(c).update(torch="x"), r"random state.torch: str, expected torch.uint8"),
        (lambda c: _random_state(c)["python"].update(internal=["x"] * 625), r"random state.python.internal"),
        (lambda c: c["optimizer_states"][0]["state"][0].update(exp_avg=torch.zeros(7)), "shape"),
        (lambda c: c.update(callbacks="none"), "'callbacks' is 'none'"),
    ],
)
def test_resume_refuses_a_crafted_state_by_name(edit, needle, trained_gan, tmp_path):
    ckpt = _loaded(trained_gan)
    edit(ckpt)
    crafted = _saved(ckpt, tmp_path / "crafted.ckpt")
    with pytest.raises(CheckpointError, match=needle):
        train(compose_config("train", tmp_path / "run", [*GAN_RESUME, f"ckpt_path={crafted}"]))
    assert not (tmp_path / "run" / "checkpoints").exists()
