"""Translation under `-m` and `trainer=ddp_cpu`: both models in one sweep, two gloo ranks per job, and test
metrics that count every example once (equal to one process evaluating the same checkpoint)."""

import pandas as pd
import pytest

from flik_lab.commands.eval import evaluate

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

TINY = [
    "data.max_number=300",
    "data.val_size=40",
    "data.test_size=61",
    "data.batch_size=32",
    "data.eval_batch_size=16",
    "trainer.max_epochs=1",
]


def test_both_translation_models_sweep_with_two_gloo_ranks_and_count_each_example_once(tmp_path):
    sweep, data = tmp_path / "sweep", tmp_path / "data"
    models = "experiment=translate_numbers_rnn,translate_numbers_transformer"
    where = ["data=translation", f"paths.data_dir={data}", f"hydra.sweep.dir={sweep}"]
    result = run_flik_lab(tmp_path, "train", "-m", models, "trainer=ddp_cpu", *where, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    for job in ("0", "1"):
        run = sweep / job
        assert (run / "rank1.log").is_file()  # the second rank ran inside this job
        assert [p.name for p in (run / "cross_attention").iterdir()] == ["epoch_000.png"]  # rank zero only
        logged = pd.read_csv(run / "csv" / "metrics.csv")
        tested = logged.dropna(subset=["test/bleu"]).iloc[-1]
        (ckpt,) = (run / "checkpoints").glob("epoch_*.ckpt")
        (tmp_path / f"eval{job}").mkdir()
        alone = evaluate(compose_config("eval", tmp_path / f"eval{job}", [f"ckpt_path={ckpt}", "logger=[]"]))
        # 61 test pairs in batches of 16 split over 2 ranks (uneven): the same sums as one process
        for key in ("test/exact_match", "test/bleu", "test/chrf", "test/perplexity", "test/token_acc"):
            assert tested[key] == pytest.approx(alone[key], rel=1e-4, abs=1e-4), (job, key)
