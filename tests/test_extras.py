"""Optional dependencies: each command that needs one that is not installed (a subprocess that cannot
import it) says in one line which extra of flik-lab installs it, and exits 2; `dev` pulls every extra."""

import re
from importlib.metadata import requires
from pathlib import Path

import pytest
from hydra.errors import MissingConfigException

from flik_lab.utils.errors import user_error
from flik_lab.utils.extras import EXTRAS, PACKAGES, PLUGIN_CONFIGS, MissingExtraError, missing_extra

from .helpers.cli import run_flik_lab
from .helpers.without import without

ROOT = Path(__file__).resolve().parents[1]
SLURM = ("submitit", "hydra_plugins.hydra_submitit_launcher")
COMMANDS = {  # the extra missing, its modules made absent, and a command that needs it
    "tune": ("tune", ("optuna",), ["tune", "hparams_search=gan_fid"]),
    "slurm": ("slurm", SLURM, ["train", "-m", "hydra/launcher=slurm", "debug=fdr"]),
    "local_submitit": ("slurm", SLURM, ["train", "-m", "hydra/launcher=local_submitit", "debug=fdr"]),
    "tensorboard logger": ("tensorboard", ("tensorboard",), ["train", "logger=tensorboard", "debug=fdr"]),
}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", r).group()).lower() for r in requirements}


@pytest.mark.multiprocess
@pytest.mark.parametrize("case", COMMANDS)
def test_a_command_without_its_extra_names_it_in_one_line(case, tmp_path):
    extra, modules, command = COMMANDS[case]
    result = run_flik_lab(tmp_path, *command, f"paths.log_dir={tmp_path / 'logs'}", env=without(*modules))
    errors = [line for line in result.stderr.splitlines() if line.startswith("flik-lab: error:")]
    assert result.returncode == 2, result.stderr[-3000:]
    assert len(errors) == 1 and f"pip install 'flik-lab[{extra}]'" in errors[0], result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert not list((tmp_path / "logs").rglob("*.ckpt"))


@pytest.mark.multiprocess
@pytest.mark.parametrize("extra", ["tensorboard", "tune"])
def test_compare_without_the_extra_a_run_needs_names_it(extra, tmp_path):
    if extra == "tensorboard":  # a run that only TensorBoard logged
        path, absent = tmp_path / "run", "tensorboard"
        (path / ".hydra").mkdir(parents=True)
        (path / "tensorboard").mkdir()
        (path / "tensorboard" / "events.out.tfevents.0").write_bytes(b"")
    else:  # a tune study
        path, absent = tmp_path / "study", "optuna"
        (path / "trial_0").mkdir(parents=True)
        (path / "study.db").write_bytes(b"")
    result = run_flik_lab(tmp_path, "compare", str(path), env=without(absent))
    assert result.returncode == 2, result.stderr[-3000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("flik-lab: error: ") and f"pip install 'flik-lab[{extra}]'" in line


def test_missing_optional_modules_and_plugin_configs_are_user_errors(monkeypatch):
    error = user_error(ModuleNotFoundError("No module named 'optuna'", name="optuna"))
    assert isinstance(error, MissingExtraError) and "pip install 'flik-lab[tune]'" in str(error)
    assert user_error(ModuleNotFoundError("No module named 'foo'", name="foo")) is None  # a bug
    monkeypatch.setattr("flik_lab.utils.extras.installed", lambda module: False)
    for config in PLUGIN_CONFIGS:
        found = missing_extra(MissingConfigException(f"Could not load '{config}'.", config))
        assert found is not None and found.extra == "slurm"


def test_make_install_takes_pyprojects_torch_versions_from_another_index():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pins,) = [line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("TORCH_PINS")]
    assert re.findall(r"'([^']+)'", pins) == [d for d in dependencies if re.match(r"torch(vision)?[<>=]", d)]


def test_dev_pulls_every_extra_and_each_extra_installs_its_modules():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (pulled,) = [r for r in extras["dev"] if r.startswith("flik-lab[")]
    assert set(pulled.removeprefix("flik-lab[").removesuffix("]").split(",")) == extras.keys() - {"dev"}
    for module, extra in EXTRAS.items():
        direct = _requirement_names(extras[extra])
        through = {name for dist in direct for name in _requirement_names(requires(dist) or [])}
        package = PACKAGES.get(module, module)
        assert package in direct | through, f"{module}: {package} is not installed by flik-lab[{extra}]"
