"""SIGTERM to a sweep whose jobs run in parallel worker processes (joblib), sent to the sweep's process or, as
SLURM does, to its whole process group: each job saves its step, the sweep names them and exits 143, and no
process of the sweep is left behind (the sequential sweep: tests/test_preemption.py)."""

import contextlib
import os
import re
import signal
import time
from pathlib import Path

import pytest
import torch

from .helpers.cli import start_flik_lab

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

# epochs of 2 batches: each job writes last.ckpt soon after it starts training, and trains on
ENDLESS = ["debug=tiny", "trainer.max_epochs=1000", "trainer.limit_train_batches=2"]


def _session(sid: int) -> list[str]:
    """The live processes of session `sid` (zombies are dead), as `pid: command line`."""
    alive = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if os.getsid(int(pid)) == sid and state != "Z":
                alive.append(f"{pid}: {Path(f'/proc/{pid}/cmdline').read_text().replace(chr(0), ' ')}")
        except (FileNotFoundError, ProcessLookupError):
            pass  # ended while we looked
    return alive


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="lists the sweep's processes from /proc")
@pytest.mark.parametrize("to", ["sweep process", "process group"])
def test_sigterm_stops_every_parallel_job_and_leaves_no_process(tmp_path, to):
    sweep = tmp_path / "sweep"
    args = ["-m", "hydra/launcher=local_parallel", "seed=1,2", *ENDLESS, f"hydra.sweep.dir={sweep}"]
    proc = start_flik_lab(tmp_path, "train", *args, new_session=True)
    jobs = [sweep / "0", sweep / "1"]
    try:
        deadline = time.monotonic() + 240
        while not all((job / "checkpoints" / "last.ckpt").exists() for job in jobs):  # both are training
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the jobs never finished an epoch"
            time.sleep(0.2)
        if to == "sweep process":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=120)  # not for the end of its output: a job left running would hold it open
        deadline = time.monotonic() + 20  # a resource tracker ends soon after the last process using it
        while _session(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _session(proc.pid)
    finally:
        if proc.poll() is None or _session(proc.pid):  # a failed test leaves no orphans behind either
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        out = proc.communicate(timeout=60)[0]

    assert proc.returncode == 143, out[-3000:]
    assert not left, left
    report = (sweep / "failed_jobs.txt").read_text()
    for num, job in enumerate(jobs):
        assert f"job {num} (seed={num + 1} " in report and f"[{job}] was interrupted" in report, report
        log = (job / "train.log").read_text()
        saved = re.search(r"interrupted by SIGTERM at epoch \d+, global step (\d+)", log)
        assert saved, log[-3000:]
        last = torch.load(job / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
        assert last["global_step"] == int(saved[1])  # the signal's step, what ckpt_path=last resumes from
