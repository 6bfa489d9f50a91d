"""`flik-lab tune` on the shipped digits: pruning, failing trials, resuming a study from its SQLite file."""

import optuna
import pytest
from omegaconf import OmegaConf, open_dict
from optuna.trial import TrialState

from flik_lab.commands.tune import check_search, check_train_config, tune
from flik_lab.utils.config_schema import ConfigError
from flik_lab.utils.train_schema import ParamSchema

from .helpers.cli import run_flik_lab
from .helpers.config import compose_config

# a couple of batches of a width-8 GAN, FID on 100 digits: about 3 s an epoch on two CPU cores
TINY = [
    "debug=tiny",
    "trainer.limit_train_batches=2",
    "++trainer.num_sanity_val_steps=0",
    "callbacks.sample_grid=null",
    "data.eval_batch_size=100",
    "model.generator.width=8",
    "model.discriminator.width=8",
    "test=false",
    "seed=0",
]


def _tune_config(sweep_dir, overrides=(), train_overrides=TINY):
    cfg = compose_config("tune", sweep_dir, ["hparams_search=gan_fid", *overrides])
    cfg.train_overrides = list(train_overrides)
    return cfg


def _trials(sweep_dir) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="tune", storage=f"sqlite:///{sweep_dir / 'study.db'}").trials


@pytest.mark.parametrize("search", ["gan_fid", "text_acc"])
def test_shipped_searches_name_keys_of_the_train_config(search, tmp_path):
    cfg = compose_config("tune", tmp_path, [f"hparams_search={search}"])
    check_search(cfg.hparams_search)
    check_train_config(cfg.hparams_search, list(cfg.hparams_search.overrides), tmp_path)


def test_a_bad_search_fails_before_any_trial_naming_the_key(tmp_path):
    cfg = _tune_config(tmp_path, ["hparams_search.direction=minimise"])
    with pytest.raises(ConfigError, match=r"hparams_search\.direction='minimise'"):
        tune(cfg)
    cfg = _tune_config(tmp_path)
    with open_dict(cfg):
        cfg.hparams_search.params["model.lr_gen"] = ParamSchema(type="float", low=1e-4, high=1e-3)
    with pytest.raises(ConfigError, match=r"hparams_search\.params\.model\.lr_gen: no such key"):
        tune(cfg)
    with pytest.raises(ConfigError, match="trainer.devices=2: flik-lab tune trains each trial on one device"):
        tune(_tune_config(tmp_path, train_overrides=[*TINY, "trainer.devices=2"]))
    with pytest.raises(ConfigError, match="no study.db to resume"):
        tune(_tune_config(tmp_path / "run", [f"study_dir={tmp_path / 'nowhere'}"]))
    assert not (tmp_path / "study.db").exists()


@pytest.mark.slow
def test_a_trial_behind_the_median_is_pruned_and_the_search_goes_on(tmp_path, capsys):
    # After two batches every sane lr_g leaves FID at the untrained generator's (~2087); lr_g=1e3
    # saturates the generator (~1902). The seeded random sampler draws 1e3, 1e-3, 1e3.
    cfg = _tune_config(
        tmp_path,
        ["n_trials=3", "hparams_search.sampler.type=random", "hparams_search.sampler.seed=0"]
        + ["hparams_search.pruner.n_startup_trials=1", "hparams_search.pruner.n_warmup_steps=0"],
        [*TINY, "trainer.max_epochs=2"],
    )
    cfg.hparams_search.params = {"model.lr_g": ParamSchema(type="categorical", choices=[1e-3, 1e3])}
    tune(cfg)

    first, pruned, last = _trials(tmp_path)
    assert first.state == TrialState.COMPLETE and sorted(first.intermediate_values) == [0, 1]
    assert pruned.state == TrialState.PRUNED and pruned.params == {"model.lr_g": 1e-3}
    assert list(pruned.intermediate_values) == [0], "pruned after its first epoch, not trained to the end"
    assert pruned.intermediate_values[0] > first.intermediate_values[0]
    assert not (tmp_path / "trial_1" / "checkpoints" / "epoch_001.ckpt").exists()
    assert last.state != TrialState.FAIL
    table = capsys.readouterr().out
    assert "PRUNED" in table and "model.lr_g" in table
    best = OmegaConf.load(tmp_path / "best.yaml")
    assert best.trial in (0, 2) and best.params["model.lr_g"] == 1e3


@pytest.mark.slow
def test_a_failing_trial_is_recorded_and_the_others_complete(tmp_path):
    # data.batch_size=100000 is more than the 4,000 training digits: ValueError in the data module's setup
    cfg = _tune_config(tmp_path, ["n_trials=3"])
    cfg.hparams_search.params["data.batch_size"].choices = [32, 100000]
    tune(cfg)

    trials = _trials(tmp_path)
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert [t.params["data.batch_size"] for t in failed] == [100000]
    error = (tmp_path / f"trial_{failed[0].number}" / "error.txt").read_text()
    assert "InputError" in error and "fewer than batch_size=100000" in error
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 2 and all(t.value > 0 for t in complete)
    assert all((tmp_path / f"trial_{t.number}" / "checkpoints" / "last.ckpt").is_file() for t in complete)


@pytest.mark.slow
def test_every_trial_failing_is_an_error(tmp_path):
    cfg = _tune_config(tmp_path, ["n_trials=2"])
    cfg.hparams_search.params["data.batch_size"].choices = [100000]
    with pytest.raises(RuntimeError, match="all 2 trials failed"):
        tune(cfg)
    assert [t.state for t in _trials(tmp_path)] == [TrialState.FAIL] * 2
    assert (tmp_path / "trial_1" / "error.txt").is_file() and not (tmp_path / "best.yaml").exists()


@pytest.mark.slow
@pytest.mark.multiprocess
def test_the_command_resumes_a_study_from_its_directory(tmp_path):
    sweep = tmp_path / "sweep"
    tune(_tune_config(sweep, ["n_trials=2"]))
    before = _trials(sweep)

    command = ["hparams_search=gan_fid", "n_trials=1", f"study_dir={sweep}"]
    command += [f"hydra.run.dir={tmp_path / 'second_call'}", "--", *TINY]
    result = run_flik_lab(tmp_path, "tune", *command, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]

    after = _trials(sweep)
    assert len(after) == 3 and [t.state for t in after] == [TrialState.COMPLETE] * 3
    assert [(t.params, t.value) for t in after[:2]] == [(t.params, t.value) for t in before]
    assert after[2].params != after[0].params, "the resumed sampler drew the first trial's params again"
    assert (sweep / "trial_2" / "checkpoints" / "last.ckpt").is_file()
    assert "COMPLETE" in result.stdout and f"study in {sweep / 'study.db'}" in result.stdout
    best = OmegaConf.load(sweep / "best.yaml")
    assert best.value == min(t.value for t in after)
