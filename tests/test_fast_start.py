"""Fast, short answers: config errors, --help, --cfg and shell completion load neither torch nor Lightning,
and a config error is one message naming the key, leaving no run directory behind."""

import os
import subprocess
import sys

import pytest

from .helpers.cli import run_flik_lab

pytestmark = pytest.mark.multiprocess


def _loaded_after(*argv: str, env: dict | None = None) -> str:
    """The heavy modules imported by `flik-lab <argv>` (run in-process in a fresh interpreter)."""
    code = (
        "import sys\nfrom flik_lab import cli\nsys.argv = ['flik-lab', *sys.argv[1:]]\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'lightning') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "argv", [("train", "--help"), ("eval", "--cfg", "job"), ("train", "modle.lr=1"), ("sample", "--help")]
)
def test_answers_without_torch_or_lightning(argv):
    assert _loaded_after(*argv) == "[]"


def test_completion_answers_without_torch_or_lightning():
    line = "flik-lab train debug=t"
    env = {"COMP_LINE": line, "COMP_POINT": str(len(line))}
    assert _loaded_after("-sc", "query=bash", env=env) == "[]"


def test_a_config_error_is_one_message_naming_the_key_and_leaves_no_run(tmp_path):
    result = run_flik_lab(tmp_path, "train", "model.lr_g=-1")
    assert result.returncode == 2
    assert "flik-lab: error: invalid config value 'model.lr_g'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not list((tmp_path / "outputs").rglob(".hydra"))  # the run directory was removed
    full = run_flik_lab(tmp_path, "train", "model.lr_g=-1", env={"HYDRA_FULL_ERROR": "1"})
    assert "Traceback" in full.stderr


def test_cfg_job_resolve_prints_the_resolved_config(tmp_path):
    result = run_flik_lab(tmp_path, "train", "--cfg", "job", "--resolve")
    assert result.returncode == 0, result.stderr
    assert "output_dir: null" in result.stdout and "${" not in result.stdout


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("flik-lab ", "train eval sample latent explain translate stylize tune compare"),
        ("flik-lab latent ", "interpolate arithmetic"),
        ("flik-lab train debug=t", "debug=tiny"),
        ("flik-lab latent interpolate met", "method="),
    ],
)
def test_shell_completion_knows_commands_groups_and_keys(line, expected, tmp_path):
    env = {"COMP_LINE": line, "COMP_POINT": str(len(line))}
    result = run_flik_lab(tmp_path, "-sc", "query=bash", env=env)
    assert result.stdout.split() == expected.split()


def test_known_warnings_are_silenced_unless_asked_for(tmp_path):
    quiet = run_flik_lab(tmp_path, "train", "debug=tiny")
    loud = run_flik_lab(tmp_path, "train", "debug=tiny", "extras.ignore_warnings=false")
    assert quiet.returncode == loud.returncode == 0, quiet.stderr[-2000:]
    assert "module(s) in eval mode" not in quiet.stderr and "module(s) in eval mode" in loud.stderr
    assert "Tip: For seamless cloud" not in quiet.stdout + quiet.stderr
