"""Every command answers a user error alike: one line naming it, exit 2, no traceback, no run folder."""

import shutil

import pytest

from flik_lab.cli import COMMANDS

from .helpers.cli import run_flik_lab

pytestmark = pytest.mark.multiprocess

HYDRA_COMMANDS = [name for name in COMMANDS if name != "compare"]
CHECKPOINT_COMMANDS = [
    "eval",
    "sample",
    "latent interpolate",
    "latent arithmetic",
    "explain",
    "translate",
    "stylize",
]
REQUIRED = {  # what each command needs besides the bad input, so that the bad input is what fails
    "eval": ["ckpt_path=x.ckpt"],
    "sample": ["ckpt_path=x.ckpt"],
    "latent interpolate": ["ckpt_path=x.ckpt"],
    "latent arithmetic": ["ckpt_path=x.ckpt", "expr=7"],
    "explain": ["ckpt_path=x.ckpt", "text=good"],
    "translate": ["ckpt_path=x.ckpt", "text=drei"],
    "stylize": ["ckpt_path=x.ckpt", "input=x.png"],
    "tune": ["hparams_search=gan_fid"],
}


def assert_one_line_user_error(result, needle: str, cwd) -> None:
    assert result.returncode == 2, result.stdout[-1000:] + result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flik-lab: error: "), result.stderr[-2000:]
    assert needle in lines[0]
    assert "Traceback" not in result.stdout
    assert not (cwd / "outputs").exists() or not list((cwd / "outputs").rglob(".hydra"))


@pytest.mark.parametrize("command", HYDRA_COMMANDS)
def test_a_key_no_config_has_is_one_line_in_every_command(command, tmp_path):
    result = run_flik_lab(tmp_path, *command.split(), *REQUIRED.get(command, []), "nope=1")
    assert_one_line_user_error(result, "nope", tmp_path)


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("seed=[1", "seed=[1"),  # an override Hydra cannot parse
        ("paths=nowhere", "paths/nowhere"),  # a config group option that does not exist
        ("seed=abc", "seed"),  # a value of the wrong type
    ],
)
def test_a_bad_override_is_one_line(bad, needle, tmp_path):
    result = run_flik_lab(tmp_path, "train", bad)
    assert_one_line_user_error(result, needle, tmp_path)


@pytest.mark.parametrize("command", CHECKPOINT_COMMANDS)
def test_a_missing_checkpoint_is_one_line(command, tmp_path):
    args = [a.replace("x.ckpt", "missing.ckpt") for a in REQUIRED[command]]
    if command == "stylize":
        (tmp_path / "x.png").write_bytes(b"")
    result = run_flik_lab(tmp_path, *command.split(), *args)
    assert_one_line_user_error(result, "missing.ckpt", tmp_path)


def test_a_tune_search_that_does_not_exist_is_one_line(tmp_path):
    result = run_flik_lab(tmp_path, "tune", "hparams_search=nope")
    assert_one_line_user_error(result, "gan_fid", tmp_path)  # the options are listed


def test_tune_help_shows_the_help(tmp_path):
    result = run_flik_lab(tmp_path, "tune", "--help")
    assert result.returncode == 0 and "hparams_search=<gan_fid|text_acc>" in result.stdout
    assert "== Configuration groups ==" in result.stdout


def test_a_slurm_sweep_off_a_cluster_is_one_line(tmp_path):
    if shutil.which("srun") and shutil.which("sbatch"):
        pytest.skip("SLURM is installed here")
    result = run_flik_lab(tmp_path, "train", "-m", "hydra/launcher=slurm", "debug=tiny")
    assert_one_line_user_error(result, "hydra/launcher=slurm needs SLURM", tmp_path)


def test_a_gpu_trainer_without_a_gpu_is_one_line(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    result = run_flik_lab(tmp_path, "train", "trainer=gpu", "debug=tiny")
    assert_one_line_user_error(result, "invalid config 'trainer'", tmp_path)
