"""`make latent-demo` takes the newest run that trained a GAN, not the newest run of any task."""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GAN = "model:\n  _target_: flik_lab.models.gan.GAN\n"
TRANSLATOR = "model:\n  _target_: flik_lab.models.translator.Translator\n"


def fake_run(root: Path, name: str, config: str, checkpoint: bool = True) -> Path:
    run = root / "outputs" / "train" / "runs" / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(config)
    if checkpoint:
        (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    return run


def latent_demo(root: Path) -> subprocess.CompletedProcess:
    """The Makefile's recipe with a stand-in `flik-lab` that prints the command it was given."""
    shutil.copy(ROOT / "Makefile", root)
    (root / "pyproject.toml").write_text("")
    bin_dir = root / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "flik-lab").write_text('#!/bin/sh\necho "flik-lab $*"\n')
    (bin_dir / "flik-lab").chmod(0o755)
    (root / "venv" / ".installed-stamp").touch()  # newer than pyproject.toml: nothing is installed
    return subprocess.run(
        ["make", "-s", "latent-demo", "VENV=venv"], cwd=root, capture_output=True, text=True
    )


def test_latent_demo_skips_newer_runs_of_other_tasks_and_runs_without_checkpoints(tmp_path):
    gan = fake_run(tmp_path, "2026-01-01_10-00-00-000000", GAN)
    fake_run(tmp_path, "2026-01-02_10-00-00-000000", TRANSLATOR)
    fake_run(tmp_path, "2026-01-03_10-00-00-000000", GAN, checkpoint=False)  # stopped before its first save
    result = latent_demo(tmp_path)
    assert result.returncode == 0, result.stderr
    ckpt = f"outputs/train/runs/{gan.name}/checkpoints/last.ckpt"
    assert result.stdout.splitlines() == [
        f"flik-lab latent interpolate ckpt_path={ckpt} pairs=6 steps=10",
        f"flik-lab latent arithmetic ckpt_path={ckpt} expr=7 - 1 + 0",
    ]


def test_latent_demo_without_a_gan_run_says_so_once(tmp_path):
    fake_run(tmp_path, "2026-01-02_10-00-00-000000", TRANSLATOR)
    result = latent_demo(tmp_path)
    assert result.returncode != 0
    assert result.stdout.count("no GAN run with a checkpoint") == 1
