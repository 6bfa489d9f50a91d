"""Every config file composes and validates; every data/model variant instantiates."""

import hydra
import pytest
from omegaconf import OmegaConf

from flik_lab.utils.conf import conf_files
from flik_lab.utils.config_schema import ConfigError, validate_config

from .helpers.config import compose_config

GROUPS = ["data", "model", "trainer", "logger", "callbacks", "experiment", "debug"]
# files starting with "_" are shared parts of other variants, not variants themselves
VARIANTS = [(g, p.name[: -len(".yaml")]) for g in GROUPS for p in conf_files(g) if p.name[0] != "_"]
TEXT_MODELS = ["rnn", "lstm", "bilstm", "attention", "transformer"]
TRANSLATION_MODELS = ["seq2seq_rnn", "seq2seq_transformer"]
UNPAIRED = ["unpaired_celeba", "unpaired_digits", "unpaired_folders"]


# what each model or data variant needs beside it (as the experiments set them): a model and data of one kind
COMPANIONS = {
    **{("model", m): ["data=imdb", "callbacks=text"] for m in TEXT_MODELS},
    **{("model", m): ["data=translation", "callbacks=translation"] for m in TRANSLATION_MODELS},
    ("model", "celeba_attributes"): ["data=celeba", "callbacks=classifier"],
    ("model", "cyclegan"): ["data=unpaired_digits", "callbacks=cyclegan"],
    ("model", "cyclegan_digits"): ["data=unpaired_digits", "callbacks=cyclegan"],
    ("data", "imdb"): ["model=lstm", "callbacks=text"],
    ("data", "translation"): ["model=seq2seq_rnn", "callbacks=translation"],
    **{("data", d): ["model=cyclegan", "callbacks=cyclegan"] for d in UNPAIRED},
}


def _with_companions(group: str, variant: str) -> list[str]:
    return [f"{group}={variant}", *COMPANIONS.get((group, variant), [])]


def test_a_model_with_data_of_another_kind_is_refused_by_name(tmp_path):
    cfg = compose_config("train", tmp_path, ["data=imdb"])  # the default model: the GAN
    with pytest.raises(ConfigError, match="data: GAN trains on images, but IMDBDataModule provides reviews"):
        validate_config(cfg)


@pytest.mark.parametrize(("group", "variant"), VARIANTS, ids=[f"{g}={v}" for g, v in VARIANTS])
def test_every_variant_composes_and_validates(group, variant, tmp_path):
    cfg = compose_config("train", tmp_path, _with_companions(group, variant))
    validate_config(cfg)
    assert OmegaConf.missing_keys(cfg) == set()


@pytest.mark.parametrize("variant", ["gan_mnist", "gan_mnist5k", "gan_celeba"])
def test_experiments_instantiate_their_model_and_data(variant, tmp_path):
    cfg = compose_config("train", tmp_path, [f"experiment={variant}"])
    model = hydra.utils.instantiate(cfg.model)
    data = hydra.utils.instantiate(cfg.data)
    assert type(model).__name__ == "GAN"
    expected = {"gan_mnist": "MNISTDataModule", "gan_mnist5k": "MNIST5kDataModule"}
    assert type(data).__name__ == expected.get(variant, "CelebADataModule")


def test_the_default_run_is_experiment_gan_mnist5k(tmp_path):
    # the experiment spells out the tuned defaults of `flik-lab train` (issue 11); they must not drift apart
    default = compose_config("train", tmp_path)
    spelled_out = compose_config("train", tmp_path, ["experiment=gan_mnist5k"])
    for group in ("model", "data", "trainer", "callbacks"):
        assert OmegaConf.to_container(default[group]) == OmegaConf.to_container(spelled_out[group]), group
    assert default.model.r1_gamma == 3.0 and default.trainer.max_epochs == 19
    assert default.model.discriminator.kernel_size == 7


def test_variants_found():
    assert {("experiment", "gan_mnist"), ("experiment", "gan_celeba"), ("trainer", "gpu")} <= set(VARIANTS)


@pytest.mark.parametrize("name", ["eval", "sample", "explain", "translate"])
def test_eval_sample_explain_configs_compose(name, tmp_path):
    cfg = compose_config(
        name, tmp_path, ["ckpt_path=some.ckpt", "text=fine" if name in ("explain", "translate") else "seed=1"]
    )
    validate_config(cfg)


def test_output_paths_are_absolute_and_inside_the_run(tmp_path):
    cfg = compose_config("train", tmp_path)
    assert cfg.callbacks.model_checkpoint.dirpath == f"{tmp_path}/checkpoints"
    assert cfg.callbacks.sample_grid.output_dir == f"{tmp_path}/samples"
    assert cfg.logger.csv.save_dir == str(tmp_path)
