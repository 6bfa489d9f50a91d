"""A bad value in a `_target_` node (unknown key, wrong type, out of range, data of another kind) is one line
naming the key, exit 2, before torch or Lightning is imported: the signatures are read from source."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.multiprocess

# `flik-lab <argv>` in a fresh interpreter that prints, at exit, which of torch and Lightning it imported
WRAPPER = (
    "import atexit, sys\n"
    "atexit.register(lambda: print(sorted(m for m in ('torch', 'lightning') if m in sys.modules)))\n"
    "from flik_lab import cli\n"
    "sys.argv = ['flik-lab', *sys.argv[1:]]\n"
    "cli.main()\n"
)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "+model.lrr=1"], "invalid config key 'model.lrr'"),
        (["train", "trainer.max_epochs=abc"], "invalid config key 'trainer.max_epochs'"),
        (
            ["train", "model.lr_g=-1"],
            "invalid config value 'model.lr_g': lr_g=-1: expected a positive number",
        ),
        (["train", "model.loss=wgan"], "invalid config value 'model.loss'"),
        (["train", "data=imdb"], "data: GAN trains on images, but IMDBDataModule provides reviews"),
        (["train", "experiment=translate_numbers_rnn", "data.vocab_size=3"], "'data.vocab_size'"),
        (["eval", "ckpt_path=x.ckpt", "+trainer.foo=1"], "invalid config key 'trainer.foo'"),
    ],
)
def test_a_value_error_is_one_line_before_torch_or_lightning(argv, needle, tmp_path):
    env = {**os.environ, "WANDB_MODE": "offline"}
    command = [sys.executable, "-c", WRAPPER, *argv]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("flik-lab: error: ") and needle in result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"  # neither torch nor lightning
    assert not list(tmp_path.rglob(".hydra"))  # no run directory left behind
