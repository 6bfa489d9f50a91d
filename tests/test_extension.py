"""The README's "Add your own model / dataset / experiment", followed literally outside the package."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flik_lab.data.reviews.synthetic import generate_reviews, write_parquet

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]
README = Path(__file__).resolve().parents[1] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## Add your own model / dataset / experiment")
    return text[start : text.index("\n## ", start + 1)]


def _files(section: str) -> dict[str, str]:
    """The section's code blocks whose first line is `# file: <path>`."""
    blocks = re.findall(r"```(?:python|yaml)\n# file: (\S+)\n(.*?)```", section, flags=re.S)
    return dict(blocks)


def _commands(section: str) -> list[list[str]]:
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line) for line in lines if line.startswith("PYTHONPATH=")]


def test_the_readme_extension_steps_train_models_the_package_does_not_ship(tmp_path):
    section = _section()
    files = _files(section)
    assert len(files) == 6 and all(path.startswith("my_project/") for path in files)
    for path, content in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(content)
    data_dir = tmp_path / "reviews"
    write_parquet(data_dir, generate_reviews(120, seed=0, median_words=12), generate_reviews(40, seed=1))

    project = tmp_path / "my_project"
    for command in _commands(section):
        env_assignment, *args = command
        assert env_assignment == "PYTHONPATH=." and args[:2] == ["flik-lab", "train"]
        args = [a.replace("/path/to/data", str(data_dir)) for a in args]
        if "experiment=imdb_gru" in args:  # the generated corpus is small
            args += ["data.val_size=20", "data.vocab_size=300"]
        env = {**os.environ, "PYTHONPATH": ".", "WANDB_MODE": "offline"}
        cli = [sys.executable, "-m", "flik_lab.cli", *args[1:]]
        result = subprocess.run(cli, cwd=project, env=env, capture_output=True, text=True, timeout=400)
        assert result.returncode == 0, result.stderr[-3000:]

    runs = sorted((project / "outputs" / "train" / "runs").iterdir())
    assert len(runs) == 2
    configs = [(run / "config.yaml").read_text() for run in runs]
    assert any("my_data.UpsideDownDigits" in c for c in configs)
    assert any("my_models.GRUEncoder" in c for c in configs)
    for run in runs:
        metrics = pd.read_csv(run / "csv" / "metrics.csv")
        assert metrics.filter(like="test/").notna().any().any()  # trained, validated and tested
        assert (run / "checkpoints" / "last.ckpt").is_file()
