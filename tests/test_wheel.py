"""The package as users get it: every import a declared dependency; the wheel alone runs `flik-lab train`."""

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

import flik_lab
from flik_lab.utils.extras import EXTRAS

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL_ONLY = {".venv", ".git", "outputs", "data", "build", "dist", "wandb"}  # envs, runs, old builds


def _not_source(folder: str, names: list[str]) -> set[str]:
    """`copytree` ignore: what the build must not see (`data` only at the top: src/flik_lab/data is code)."""
    skip = {n for n in names if n == "__pycache__" or n.endswith((".egg-info", "_cache"))}
    return skip | (TOP_LEVEL_ONLY & set(names) if Path(folder) == ROOT else set())


def _name(requirement: str) -> str:
    """`PyYAML>=6` -> `pyyaml`: a distribution name, normalised as in PEP 503."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement).group()).lower()


def test_every_third_party_import_is_a_declared_dependency():
    """A dependency, or an extra's (not dev's) whose absence is named by `flik_lab.utils.extras`."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional = project["optional-dependencies"]
    required = {_name(r) for r in project["dependencies"]}
    extras = {_name(r) for name, reqs in optional.items() if name != "dev" for r in reqs}
    providers = packages_distributions()
    missing = {}
    for path in (ROOT / "src" / "flik_lab").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for top in {m.split(".")[0] for m in modules} - set(sys.stdlib_module_names) - {"flik_lab"}:
                dists = {_name(d) for d in providers.get(top, [top])}
                if not required & dists and not (extras & dists and top in EXTRAS):
                    missing.setdefault(top, []).append(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not a dependency, nor an extra's named in utils/extras.py: {missing}"


@pytest.mark.slow
@pytest.mark.multiprocess
def test_wheel_installed_outside_the_checkout_trains(tmp_path):
    source, dist, env_dir, elsewhere = (tmp_path / name for name in ("source", "dist", "venv", "elsewhere"))
    shutil.copytree(ROOT, source, ignore=_not_source)  # a build in the checkout would write build/ into it
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, source], check=True)
    (wheel,) = dist.glob("flik_lab-*.whl")

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", env_dir], check=True)
    python = env_dir / "bin" / "python"
    site = subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    # torch & co. come from this environment: a plain path line runs none of its .pth files, so the
    # checkout's editable finder stays out and flik_lab can only come from the wheel
    Path(site.decode().strip(), "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], check=True)

    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FLIK_LAB_LOG_DIR")}
    env |= {"WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    where = "import flik_lab, flik_lab.conf as c; print(flik_lab.__file__, c.__file__, flik_lab.__version__)"
    *files, version = subprocess.check_output(
        [python, "-c", where], cwd=elsewhere, env=env, text=True
    ).split()
    assert all(Path(f).is_relative_to(env_dir) for f in files) and version == flik_lab.__version__, files

    command = [env_dir / "bin" / "flik-lab", "train", "debug=fdr"]
    result = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (elsewhere / "outputs" / "train" / "debug" / "runs").iterdir()  # debug runs live apart
    assert f"run written to {run}" in result.stdout
    assert (run / "config.yaml").is_file() and "test/fid" in result.stdout  # fdr: one batch, no logs
