"""`flik-lab` in a subprocess, as a user runs it: `python -m flik_lab.cli`, W&B offline."""

import os
import subprocess
import sys
from pathlib import Path


def _command(args: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    return [sys.executable, "-m", "flik_lab.cli", *map(str, args)], env


def run_flik_lab(
    cwd: Path, *args: str, timeout: float = 400, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess:
    """`flik-lab <args>` run to its end in `cwd` (with `env` added, `input` on its stdin); stdout and stderr
    captured as text."""
    cmd, base = _command(args)
    env = {**base, **(env or {})}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, input=input, timeout=timeout)


def start_flik_lab(cwd: Path, *args: str, new_session: bool = False) -> subprocess.Popen:
    """`flik-lab <args>` started in `cwd`, stderr merged into its stdout pipe (read it with `communicate`);
    with `new_session`, in a session and process group of its own (its id is the process's pid)."""
    cmd, env = _command(args)
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=new_session,
    )
