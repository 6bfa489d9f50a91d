"""Checkpoints are untrusted input: pickle payloads and stored-config gadgets are refused by every command."""

import builtins
import copy
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from flik_lab.commands.eval import evaluate
from flik_lab.commands.explain import explain
from flik_lab.commands.latent_arithmetic import latent_arithmetic
from flik_lab.commands.latent_interpolate import interpolate_latents
from flik_lab.commands.sample import sample
from flik_lab.commands.stylize import stylize
from flik_lab.commands.translate import translate
from flik_lab.data.typeset_digits import render_typeset_digits
from flik_lab.latent.gan_checkpoint import load_gan
from flik_lab.models.gan import GAN
from flik_lab.models.mnist_classifier import load_pretrained
from flik_lab.training import train
from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.errors import user_error
from flik_lab.utils.stored_config import TRAINING_ONLY, known_targets

from .helpers.config import compose_config
from .helpers.images import CELEBA_ATTRS
from .helpers.text import small_lstm, tiny_reviews, write_tiny

TINY_NUMBERS = [
    "data.max_number=60",
    "data.val_size=8",
    "data.test_size=8",
    "data.batch_size=8",
    "test=false",
    "model.network.embed_dim=8",
    "model.network.hidden_size=8",
]


TINY_CYCLEGAN = [
    "experiment=cyclegan_digits",
    "debug=tiny",
    "trainer.limit_train_batches=1",
    "test=false",
    "model.generator_ab.width=4",
    "model.generator_ab.num_blocks=1",
    "model.discriminator_a.width=4",
    "model.reader_epochs=1",  # the semantic term's readers: 30 epochs each in the experiment
    "data.val_size=50",
    "data.test_size=50",
    "data.eval_batch_size=50",
    "callbacks.style_transfer_scores=null",
    "callbacks.model_checkpoint.monitor=null",
]


class TinyGAN(GAN):
    """A user's own GAN subclass: built only when named in `trusted_targets`."""


class Shell:
    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


class Exec:
    def __init__(self, source: str):
        self.source = source

    def __reduce__(self):
        return builtins.exec, (self.source,)


def _save(ckpt: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path


def _built(overrides: list[str], path: Path, **extra) -> Path:
    """A checkpoint in train's format (resolved model/data configs, weights) without training: CelebA ones."""
    cfg = compose_config("train", path.parent, overrides)
    stored = {k: OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "data")}
    model = hydra.utils.instantiate(cfg.model)
    return _save({"state_dict": model.state_dict(), "flik_lab": stored, **extra}, path)


@pytest.fixture(scope="module")
def ckpts(trained_gan, tmp_path_factory) -> dict[str, Path]:
    """Legitimate checkpoints: the tiny trained GAN, a text classifier trained on one batch, CelebA ones."""
    root = tmp_path_factory.mktemp("ckpts")
    write_tiny(root / "imdb", "parquet", *tiny_reviews(40, 16))
    text_run = root / "text"
    text = [*small_lstm(root / "imdb", 8), "data.vocab_size=200", "data.batch_size=8", "test=false"]
    train(compose_config("train", text_run, ["debug=tiny", "trainer.limit_train_batches=1", *text]))
    translation_run = root / "translation"
    translation = ["experiment=translate_numbers_rnn", f"data.data_dir={root / 'numbers'}", *TINY_NUMBERS]
    translation += ["debug=tiny", "trainer.limit_train_batches=1"]
    train(compose_config("train", translation_run, translation))
    cyclegan_run = root / "cyclegan"
    train(compose_config("train", cyclegan_run, [*TINY_CYCLEGAN, f"paths.data_dir={root / 'digits'}"]))
    tiny = [
        "model.generator.width=4",
        "model.discriminator.width=4",
        "model.latent_dim=8",
        "model.net.width=2",
    ]
    return {
        "gan": trained_gan / "checkpoints" / "last.ckpt",
        "text": text_run / "checkpoints" / "last.ckpt",
        "translation": translation_run / "checkpoints" / "last.ckpt",
        "cyclegan": cyclegan_run / "checkpoints" / "last.ckpt",
        "celeba_gan": _built(["experiment=gan_celeba", *tiny[:3]], root / "celeba_gan" / "last.ckpt"),
        "classifier": _built(
            ["experiment=celeba_attributes", tiny[3]],
            root / "clf" / "last.ckpt",
            CelebADataModule={"attr_names": CELEBA_ATTRS},
        ),
    }


# the commands that read a checkpoint: (kind of checkpoint they read, run(cfg dir, bad path, overrides))
def _sample(out, path, ckpts, extra=()):
    return sample(compose_config("sample", out, [f"ckpt_path={path}", "num_samples=4", *extra]))


def _eval(out, path, ckpts, extra=()):
    return evaluate(compose_config("eval", out, [f"ckpt_path={path}", "debug=tiny", "logger=[]", *extra]))


def _explain(out, path, ckpts, extra=()):
    return explain(compose_config("explain", out, [f"ckpt_path={path}", "text='A fine film.'", *extra]))


def _translate(out, path, ckpts, extra=()):
    return translate(compose_config("translate", out, [f"ckpt_path={path}", "text=siebzehn", *extra]))


def _stylize(out, path, ckpts, extra=()):
    image = out / "digit.png"
    if not image.exists():
        Image.fromarray(render_typeset_digits([7])[0]).save(image)
    return stylize(compose_config("stylize", out, [f"ckpt_path={path}", f"input={image}", *extra]))


def _interpolate(out, path, ckpts, extra=()):
    cfg = compose_config("latent_interpolate", out, [f"ckpt_path={path}", "pairs=1", "steps=3", *extra])
    return interpolate_latents(cfg)


def _arithmetic(out, path, ckpts, extra=()):
    loose = ["confidence=0.0", "min_count=1", "num_samples=200", "num_neighbours=2"]
    cfg = compose_config("latent_arithmetic", out, [f"ckpt_path={path}", "expr='1'", *loose, *extra])
    cfg.expr = " + ".join([_some_digit(path)] * 2) if path == ckpts["gan"] else "1"  # refused before use
    return latent_arithmetic(cfg)


def _classifier(out, path, ckpts, extra=()):
    common = [
        "confidence=0.0",
        "min_count=1",
        "num_samples=16",
        "num_neighbours=2",
        "expr='Smiling + Female'",
    ]
    return latent_arithmetic(
        compose_config(
            "latent_arithmetic",
            out,
            [f"ckpt_path={ckpts['celeba_gan']}", f"classifier_ckpt={path}", *common, *extra],
        )
    )


def _some_digit(path) -> str:
    """A digit the GAN's first seeded sample is labelled as (confidence=0 counts every argmax)."""
    gan, _ = load_gan(str(path))
    with torch.no_grad():
        return str(int(load_pretrained()(gan(gan.noise(1, torch.Generator().manual_seed(42)))).argmax()))


COMMANDS: dict[str, tuple[str, Callable]] = {
    "sample": ("gan", _sample),
    "eval": ("gan", _eval),
    "explain": ("text", _explain),
    "translate": ("translation", _translate),
    "stylize": ("cyclegan", _stylize),
    "interpolate": ("gan", _interpolate),
    "arithmetic": ("gan", _arithmetic),
    "arithmetic_classifier": ("classifier", _classifier),
}


def _first(model: dict, test: Callable) -> str:
    return next(k for k, v in model.items() if test(v))


def _value(m: dict) -> str:  # latent_dim, vocab_size, num_attributes
    return _first(m, lambda v: isinstance(v, int) and not isinstance(v, bool))


def _network(m: dict) -> str:  # generator, encoder, net (not the optimizer nodes: never built, below)
    return _first(
        {k: v for k, v in m.items() if k not in TRAINING_ONLY},
        lambda v: isinstance(v, dict) and "_target_" in v,
    )


def _gadgets(marker: Path, pickled: Path) -> dict[str, tuple[Callable[[dict], dict], str]]:
    """Stored model configs that run `touch marker` or misuse flik-lab's own classes: (edit, needle)."""
    touch = f"touch {marker}"
    system = {"_target_": "os.system", "_args_": [touch]}
    popen = {"_target_": "subprocess.Popen", "args": ["touch", str(marker)]}
    return {
        "os.system": (lambda m: system, "'os.system'"),
        "create_subprocess_shell": (
            lambda m: {"_target_": "asyncio.create_subprocess_shell", "cmd": touch},
            "'asyncio.create_subprocess_shell'",
        ),
        "popen": (lambda m: popen, "'subprocess.Popen'"),
        "read_pickle": (
            lambda m: {"_target_": "pandas.read_pickle", "filepath_or_buffer": str(pickled)},
            "'pandas.read_pickle'",
        ),
        "in_value": (lambda m: {**m, _value(m): system}, "'os.system'"),
        "in_network": (lambda m: {**m, _network(m): popen}, "'subprocess.Popen'"),
        "partial": (lambda m: {**m, "_partial_": True}, "_partial_"),
        "unknown_key": (lambda m: {**m, _network(m): {**m[_network(m)], "evil": 1}}, "evil"),
        "interpolation": (lambda m: {**m, _value(m): "${oc.env:HOME}"}, "${oc.env:HOME}"),
    }


PAYLOADS = ["pickle_os_system", "pickle_exec", *_gadgets(Path("m"), Path("p"))]


@pytest.fixture(scope="module")
def marker(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("marker") / "pwned"


@pytest.fixture(scope="module")
def malicious(ckpts, marker, tmp_path_factory) -> Callable[[str, str], tuple[Path, str]]:
    """(kind, payload) -> a crafted checkpoint file and the text its refusal must contain; cached."""
    root = tmp_path_factory.mktemp("malicious")
    pickled = _save({"x": Shell(f"touch {marker}")}, root / "payload.pkl")
    loaded = {kind: torch.load(path, weights_only=True) for kind, path in ckpts.items()}
    made: dict[tuple[str, str], tuple[Path, str]] = {}

    def make(kind: str, payload: str) -> tuple[Path, str]:
        if (kind, payload) not in made:
            ckpt = copy.deepcopy(loaded[kind])
            path = root / kind / f"{payload}.ckpt"
            if payload.startswith("pickle"):
                evil = (
                    Shell(f"touch {marker}")
                    if payload == "pickle_os_system"
                    else Exec(f"open({str(marker)!r}, 'w')")
                )
                ckpt["flik_lab"]["note"] = evil
                needle = "weights-only load refuses"
            elif payload.startswith("data"):  # eval's stored data config
                system = {"_target_": "os.system", "_args_": [f"touch {marker}"]}
                data = ckpt["flik_lab"]["data"]
                ckpt["flik_lab"]["data"] = system if payload == "data" else {**data, "batch_size": system}
                needle = "'os.system'"
            else:
                edit, needle = _gadgets(marker, pickled)[payload]
                ckpt["flik_lab"]["model"] = edit(ckpt["flik_lab"]["model"])
            made[kind, payload] = (_save(ckpt, path), needle)
        return made[kind, payload]

    return make


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_refuses_every_payload(command, payload, ckpts, malicious, marker, tmp_path):
    kind, run = COMMANDS[command]
    path, needle = malicious(kind, payload)
    with pytest.raises(ValueError) as refused:
        run(tmp_path, path, ckpts)
    message = str(refused.value)
    assert needle in message and str(path) in message, message
    key = "classifier_ckpt" if command == "arithmetic_classifier" else "ckpt_path"
    assert f"{key}={path}" in message
    assert not marker.exists()


@pytest.mark.parametrize("command", ["sample", "eval"])
def test_a_gadget_in_an_optimizer_node_is_never_built(command, ckpts, marker, tmp_path):
    # optimizers and schedules only train: a command reading a checkpoint drops those nodes unbuilt
    ckpt = torch.load(ckpts["gan"], weights_only=True)
    ckpt["flik_lab"]["model"]["optimizer_g"] = {"_target_": "os.system", "_args_": [f"touch {marker}"]}
    path = _save(ckpt, tmp_path / "optimizer_gadget.ckpt")
    assert COMMANDS[command][1](tmp_path, path, ckpts) is not None
    assert not marker.exists()


@pytest.mark.parametrize("payload", ["data", "data_nested"])
def test_eval_refuses_a_gadget_in_the_stored_data_config(payload, ckpts, malicious, marker, tmp_path):
    path, needle = malicious("gan", payload)
    with pytest.raises(ValueError, match=r"data(\.batch_size)?\._target_' names 'os\.system'") as refused:
        _eval(tmp_path, path, ckpts)
    assert f"ckpt_path={path}" in str(refused.value) and not marker.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_legitimate_checkpoints_still_work_for_every_command(command, ckpts, tmp_path):
    kind, run = COMMANDS[command]
    assert run(tmp_path, ckpts[kind], ckpts) is not None


def test_a_user_named_gan_subclass_is_built_only_when_trusted(ckpts, tmp_path):
    ckpt = torch.load(ckpts["gan"], weights_only=True)
    target = f"{__name__}.TinyGAN"
    ckpt["flik_lab"]["model"]["_target_"] = target
    path = _save(ckpt, tmp_path / "tiny_gan.ckpt")
    with pytest.raises(ValueError, match=f"'{target}'.*trusted_targets"):
        _sample(tmp_path / "refused", path, ckpts)
    trusted = [f"trusted_targets=[{target}]"]
    assert all(p.is_file() for p in _sample(tmp_path / "s", path, ckpts, trusted))
    assert all(p.is_file() for p in _interpolate(tmp_path / "i", path, ckpts, trusted).values())


def test_sample_on_a_text_classifier_says_a_gan_checkpoint_is_expected(ckpts, tmp_path):
    text = ckpts["text"]
    with pytest.raises(ValueError, match=f"ckpt_path={text} holds a .*TextClassifier.*GAN checkpoint"):
        _sample(tmp_path, text, ckpts)


def test_allow_list_is_every_model_and_data_target_of_the_shipped_configs():
    targets = known_targets()
    ours = {
        "models.gan.GAN",
        "models.dcgan.Generator",
        "metrics.fid.mnist_fid",
        "models.text.lstm.LSTMEncoder",
        "models.text_classifier.TextClassifier",
        "models.text.transformer.TransformerEncoder",
        "models.attribute_classifier.AttributeCNN",
        "data.mnist5k.MNIST5kDataModule",
        "data.imdb.IMDBDataModule",
        "data.celeba.CelebADataModule",
    }
    assert {f"flik_lab.{t}" for t in ours} <= targets
    assert all(t.startswith("flik_lab.") for t in targets)  # no callbacks, loggers or trainers
    for target in targets:
        hydra.utils.get_object(target)


@pytest.mark.parametrize("key", ["train_file", "val_file", "test_file", "hf_name"])
@pytest.mark.parametrize("value", ["/etc/passwd", "../../etc/passwd", "~/.ssh/id_rsa", "local:///etc"])
def test_a_path_in_a_stored_data_config_is_never_used(key, value, ckpts, tmp_path):
    ckpt = torch.load(ckpts["translation"], weights_only=True)
    ckpt["flik_lab"]["data"].update({"source": "tsv", key: value})
    stored = read_checkpoint(_save(ckpt, tmp_path / "crafted.ckpt"))
    with pytest.raises(ValueError, match=f"'data.{key}' = .* outside the data directory") as refused:
        stored.data_config(data_dir=str(tmp_path))
    assert "root:" not in str(refused.value)


def _key_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path into a checkpoint (tensors and scalars are leaves; long lists are one leaf)."""
    children = node.items() if isinstance(node, dict) else []
    if isinstance(node, list) and len(node) <= 8:
        children = enumerate(node)
    paths = []
    for key, child in children:
        paths += [(*prefix, key), *_key_paths(child, (*prefix, key))]
    return paths


def _nested(depth: int) -> list:
    node: list = []
    for _ in range(depth):
        node = [node]
    return node


DELETE = object()
HOSTILE = [
    DELETE,
    None,
    "",
    "x" * 300,
    "/tmp/victim",
    "local:///victim",
    "../../victim",
    "${oc.env:HOME}",
    -1,
    10**13,
    1e300,
    float("nan"),
    True,
    [],
    {},
    {"_target_": "os.system", "_args_": ["touch pwned"]},
    torch.full((3,), float("nan")),
    torch.zeros(4, 1000),
    _nested(3000),
]


def _mutated(ckpt: dict, path: tuple, value: Any) -> dict:
    ckpt = copy.deepcopy(ckpt)
    parent = ckpt
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return ckpt


def _files(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    files = [p for p in root.rglob("*") if p.is_file() and skip not in p.parents]
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_fuzz_every_part_of_a_checkpoint_for_every_command(command, ckpts, tmp_path, monkeypatch):
    """Any part of a real checkpoint replaced by a hostile value or removed: the command succeeds or stops
    with a user error (one line, exit 2); nothing outside its run directory is created, changed or deleted,
    and no large allocation is attempted."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    kind, run = COMMANDS[command]
    original = torch.load(ckpts[kind], weights_only=True)
    paths = _key_paths(original)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    monkeypatch.chdir(tmp_path)  # relative writes land where they are seen
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs = iter(range(10**6))

    quick = settings(max_examples=6, derandomize=True, database=None, deadline=None)

    @settings(quick, suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(paths), value=st.sampled_from(HOSTILE))
    def mutate(path, value):
        out = tmp_path / f"out{next(runs)}"
        crafted = out / "crafted.ckpt"
        out.mkdir()
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(20_000)  # pickling a deeply nested value recurses
        try:
            torch.save(_mutated(original, path, value), crafted)
        finally:
            sys.setrecursionlimit(limit)
        before = _files(tmp_path, out)
        try:
            run(out, crafted, ckpts)
        except Exception as exc:
            assert user_error(exc) is not None, f"{path} = {value!r:.60}: {type(exc).__name__}: {exc}"
        assert _files(tmp_path, out) == before, f"{path} = {value!r:.60} wrote outside the run directory"
        assert (victim / "keep.txt").read_text() == "keep"

    mutate()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak  # KiB on Linux
    assert grown < 2 * 2**20, f"peak memory grew by {grown / 2**20:.1f} GiB"


@pytest.mark.parametrize("channels", [DELETE, "three", 2, 10**9])
def test_stylize_refuses_a_crafted_image_format(channels, ckpts, tmp_path):
    ckpt = torch.load(ckpts["cyclegan"], weights_only=True)
    _mutated_in_place = _mutated(ckpt, ("UnpairedImageDataModule", "channels"), channels)
    path = _save(_mutated_in_place, tmp_path / "crafted.ckpt")
    with pytest.raises(
        ValueError, match=r"UnpairedImageDataModule state: channels = .*expected 1 \(grey\) or 3"
    ):
        _stylize(tmp_path, path, ckpts)


@pytest.mark.parametrize("max_length", ["sixty-four", [64], 0])
def test_translate_refuses_a_crafted_stored_data_config(max_length, ckpts, tmp_path):
    ckpt = torch.load(ckpts["translation"], weights_only=True)
    ckpt["flik_lab"]["data"]["max_length"] = max_length
    path = _save(ckpt, tmp_path / "crafted.ckpt")
    with pytest.raises(ValueError, match=f"ckpt_path={path}: .*max_length"):
        _translate(tmp_path, path, ckpts)
