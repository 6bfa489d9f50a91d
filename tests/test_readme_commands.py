"""Every `flik-lab` command the README shows composes and validates as written (sweeps job by job), and
runs with `debug=fdr` appended where this machine has what it needs (the shipped digits, a CPU, a GAN
checkpoint for `$ckpt`).

Composition is what a README command breaks first (an override of a key the default config lacks, a
renamed group, a launcher that cannot size itself) and costs a fraction of a second; hub data, CelebA,
GPUs, DDP and SLURM are not here, so those commands are composed and validated only. Commands that are
not Hydra apps or need files are named in `ELSEWHERE` with the test that covers them.
"""

import importlib
import itertools
import re
import shlex
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf, open_dict

from flik_lab.cli import COMMANDS
from flik_lab.commands.typed_text import typed_text
from flik_lab.utils.conf import CONF_MODULE
from flik_lab.utils.config_schema import validate_config

README = Path(__file__).resolve().parents[1] / "README.md"
PLACEHOLDERS = {"$ckpt": "/x.ckpt", "<sample run>": "/x", "<run>": "/x", "<time>": "t", "…": "x"}
ELSEWHERE = {  # commands that are not Hydra apps, or need files: where they are tested
    "compare": "tests/test_compare.py runs `flik-lab compare` on a sweep",
    "--config-dir": "tests/test_extension.py runs the README's own-code commands",
    "-sc": "tests/test_fast_start.py tests completion",
}


def readme_commands() -> list[str]:
    """`flik-lab …` lines of the README's bash blocks and `flik-lab …` code spans of its tables."""
    text = README.read_text()
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if "flik-lab " in line:
                lines.append(line[line.index("flik-lab ") :])
    lines += re.findall(r"\| `(flik-lab [^`]+)` \|", text)
    return list(dict.fromkeys(lines))


def _split(command: str) -> tuple[str, list[str], list[str]]:
    """(config name, Hydra overrides, train overrides after `--`) of a `flik-lab …` command."""
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    words = shlex.split(command.removesuffix(')"').split("$(")[-1])[1:]
    name = " ".join(words[:2]) if " ".join(words[:2]) in COMMANDS else words[0]
    args = words[len(name.split()) :]
    if name == "translate":  # the sentence as typed becomes `text=`, as the console script does it
        args = typed_text(args)
    dashes = args.index("--") if "--" in args else len(args)
    module = COMMANDS[name][0]
    return module.rsplit(".", 1)[1], [a for a in args[:dashes] if a != "-m"], args[dashes + 1 :]


def _jobs(overrides: list[str]) -> tuple[list[str], list[list[str]]]:
    """The overrides Hydra composes a sweep with first (no swept keys) and each job's overrides."""
    fixed, swept = [], []
    for item in overrides:
        key, _, value = item.partition("=")
        if "," in value and not value.startswith(("[", "'", '"')):
            swept.append([f"{key}={v}" for v in value.split(",")])
        else:
            fixed.append(item)
    return fixed, [fixed + list(job) for job in itertools.product(*swept)] if swept else [fixed]


def _compose(name: str, overrides: list[str]):
    with initialize_config_module(version_base="1.3", config_module=CONF_MODULE):
        cfg = compose(config_name=name, overrides=overrides, return_hydra_config=True)
    OmegaConf.to_container(cfg.hydra.launcher, resolve=True)  # a launcher that cannot size itself fails
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


COMMAND_LINES = readme_commands()
RAN: set[str] = set()  # configs already run: the same job under another launcher or seed runs once


def _first_run(name: str, cfg) -> bool:
    """True the first time this command runs this config (paths, seed and tags aside)."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    key = name + repr({k: v for k, v in plain.items() if k not in ("paths", "seed", "tags", "ckpt_path")})
    new = key not in RAN
    RAN.add(key)
    return new


def test_the_readme_shows_commands():
    assert len(COMMAND_LINES) > 20


def _runnable_here(name: str, cfg) -> bool:
    if name == "latent_arithmetic":
        return False  # needs a GAN that draws digits; tests/test_latent.py runs it on a trained one
    if name in ("sample", "latent_interpolate"):
        return "latents" not in cfg or cfg.latents is None  # `<sample run>/…` is a placeholder
    data, trainer = OmegaConf.select(cfg, "data._target_") or "", cfg.get("trainer") or {}
    on_cpu = (
        trainer.get("accelerator") in ("auto", "cpu") and "ddp" not in str(trainer.get("strategy")).lower()
    )
    return name == "train" and data.endswith("MNIST5kDataModule") and on_cpu


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMAND_LINES)
def test_readme_command_composes_validates_and_runs(command, trained_gan, tmp_path, monkeypatch):
    elsewhere = [why for marker, why in ELSEWHERE.items() if marker in command.split()]
    if elsewhere:
        pytest.skip(elsewhere[0])
    monkeypatch.chdir(tmp_path)  # where a relative output= lands, as for a user
    checkpoint = str(trained_gan / "checkpoints" / "last.ckpt")
    command = command.replace("$ckpt", checkpoint).replace("ckpt_path=…", f"ckpt_path={checkpoint}")
    name, overrides, train_overrides = _split(command)
    overrides.append(f"paths.output_dir={tmp_path}")
    fixed, jobs = _jobs(overrides)
    _compose(name, fixed)
    for job in jobs:
        cfg = _compose(name, job)
        if name != "tune":
            validate_config(cfg)
    first = _compose(name, jobs[0])
    if _runnable_here(name, first) and _first_run(name, first):  # the first job, briefly
        module = next(m for m, _ in COMMANDS.values() if m.endswith(f".{name}"))
        job = [*jobs[0], "debug=fdr"] if name == "train" else jobs[0]  # fdr: one batch of each split
        importlib.import_module(module).run(_compose(name, job))
    if name == "tune":  # each trial is a train run with the search's overrides and those after `--`
        train = _compose(
            "train", [*cfg.hparams_search.overrides, *train_overrides, f"paths.output_dir={tmp_path}"]
        )
        validate_config(train)
