"""SIGTERM to a sweep, sent to its process or to its whole process group (as SLURM does): every running job
saves its step and stops, no job starts after it, the sweep exits 143 and leaves no process behind.

A job in the sweep's own process (the basic launcher) stops the sweep by exiting 143, as a single run does.
The jobs in the sweep's process pool (the joblib launcher's loky workers) get the signal from the sweep
process and end like finished jobs instead: an exception out of one worker would make joblib kill the other
workers before they had saved their step. Once the pool has returned, `end_sweep` exits 143 and the pool's
workers are shut down on the way out. `flik_lab.utils.sweep_report.SweepReport` calls this module at each
step of a sweep, in the sweep's process and in each job's.
"""

import multiprocessing
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from flik_lab.utils.finish import INTERRUPTED_EXIT_CODE

_received = False  # this process got SIGTERM
_sweep_process = False  # this process runs the sweep's launcher
_pool_worker = False  # this process is a worker of the sweep process's own process pool
_in_job = False  # a job's body runs in this process now
_interrupted = False  # the job that ran last in this pool worker ended on SIGTERM


def _on_sigterm(signum: int, frame: object) -> None:
    global _received
    first, _received = not _received, True
    if signal.getsignal(signal.SIGTERM) is not _on_sigterm:
        return  # a Trainer in this process chained this handler to its own: it saves the step and stops
    if not first:
        return  # the sweep's process forwards the signal that its group got as well
    if _in_job:
        raise SystemExit(INTERRUPTED_EXIT_CODE)  # outside a fit there is no step to save
    if _sweep_process:
        workers = multiprocessing.active_children()
        for worker in workers:
            try:
                os.kill(worker.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not workers:
            raise SystemExit(INTERRUPTED_EXIT_CODE)
    # a pool worker between jobs: it starts no other job (`received`)


def _install() -> None:
    if signal.getsignal(signal.SIGTERM) is not _on_sigterm:
        signal.signal(signal.SIGTERM, _on_sigterm)


def start_sweep() -> None:
    """In the sweep's process, before any job starts."""
    global _sweep_process
    _sweep_process = True
    _install()


def start_job(sweep_pid: int | None) -> None:
    """In a job's process, before the job: the sweep's process or a worker of its pool takes part; another
    launcher's job process (submitit's) keeps its own SIGTERM handling."""
    global _pool_worker, _interrupted
    parent = multiprocessing.parent_process()
    _pool_worker = parent is not None and parent.pid == sweep_pid
    _interrupted = False
    if _sweep_process or _pool_worker:
        _install()


def received() -> bool:
    """Whether this process got SIGTERM in a sweep: no other job starts in it."""
    return _received


@contextmanager
def job_body() -> Iterator[None]:
    """Run a job's body. In a pool worker, a job interrupted by SIGTERM (exit code 143) ends here like a
    finished one: the worker stays for the sweep's process to shut it down and name the job (`interrupted`).
    """
    global _in_job, _interrupted
    _in_job = True
    try:
        yield
    except SystemExit as exc:
        if not (_pool_worker and exc.code == INTERRUPTED_EXIT_CODE):
            raise
        _interrupted = True
    finally:
        _in_job = False


def interrupted() -> bool:
    """Whether the job that just ended in this pool worker was interrupted by SIGTERM."""
    return _interrupted


def end_sweep() -> None:
    """After the last job: a sweep that got SIGTERM exits 143, also when every job had ended before it."""
    if _sweep_process and _received:
        raise SystemExit(INTERRUPTED_EXIT_CODE)
