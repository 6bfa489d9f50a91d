"""Configs named `_...` are bases of others: they compose where named, but no listing offers them."""

import pytest

from .helpers.cli import run_flik_lab

pytestmark = pytest.mark.multiprocess

PRIVATE = {"experiment": "_imdb", "debug": "_debug", "model": "_gan"}  # one of each group's bases


def test_help_lists_no_private_config(tmp_path):
    result = run_flik_lab(tmp_path, "train", "--help")
    assert result.returncode == 0, result.stderr
    groups = result.stdout.split("== Configuration groups ==")[1].split("== Config ==")[0]
    options = {
        group: value.split(", ")
        for group, _, value in (line.partition(": ") for line in groups.splitlines() if ": " in line)
    }
    assert "gan_mnist" in options["experiment"] and "tiny" in options["debug"]
    assert not [(group, o) for group, names in options.items() for o in names if o.startswith("_")]


@pytest.mark.parametrize("group", sorted(PRIVATE))
def test_completion_offers_no_private_config(group, tmp_path):
    def complete(line: str) -> list[str]:
        env = {"COMP_LINE": line, "COMP_POINT": str(len(line))}
        return run_flik_lab(tmp_path, "-sc", "query=bash", env=env).stdout.split()

    offered = complete(f"flik-lab train {group}=")
    assert offered and not [word for word in offered if word.startswith(f"{group}=_")]
    assert complete(f"flik-lab train {group}=_") == []


def test_configs_built_on_private_ones_still_compose(tmp_path):
    result = run_flik_lab(tmp_path, "train", "--cfg", "job", "experiment=imdb_lstm", "debug=tiny")
    assert result.returncode == 0, result.stderr
    assert "flik_lab.data.imdb.IMDBDataModule" in result.stdout
