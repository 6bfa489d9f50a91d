"""How fast `flik-lab` answers what needs no training: --help, --cfg, a config error, shell completion.

Each command runs `--repeats` times as a subprocess; the median wall time is reported beside the same
measure of a bare `python -c pass` in the same run (the floor any command pays) and of
`python -c "import lightning"` (what a command paid before its body was imported lazily).
`python bench/startup_latency.py [--repeats 5]`
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

PYTHON = [sys.executable]
CLI = [*PYTHON, "-m", "flik_lab.cli"]
COMPLETION = "flik-lab train model.lr"
CASES = {
    "python -c pass (baseline)": ([*PYTHON, "-c", "pass"], {}),
    "python -c 'import lightning'": ([*PYTHON, "-c", "import lightning"], {}),
    "flik-lab --help": ([*CLI, "--help"], {}),
    "flik-lab train --help": ([*CLI, "train", "--help"], {}),
    "flik-lab train --cfg job": ([*CLI, "train", "--cfg", "job"], {}),
    "flik-lab train modle.lr=1 (unknown key)": ([*CLI, "train", "modle.lr=1"], {}),
    "completion: flik-lab train model.lr<TAB>": (
        [*CLI, "-sc", "query=bash"],
        {"COMP_LINE": COMPLETION, "COMP_POINT": str(len(COMPLETION))},
    ),
}


def median_seconds(command: list[str], env: dict[str, str], repeats: int, cwd: str) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, env={**os.environ, **env}, capture_output=True, timeout=300)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cwd:
        results = {name: median_seconds(cmd, env, args.repeats, cwd) for name, (cmd, env) in CASES.items()}
    base = results["python -c pass (baseline)"]
    print(f"median of {args.repeats} runs; load average {os.getloadavg()[0]:.2f}")
    for name, seconds in results.items():
        print(f"{name:45s} {seconds:6.2f} s  {seconds / base:5.1f}x baseline")


if __name__ == "__main__":
    main()
