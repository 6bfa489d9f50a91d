"""Checkpoints written before issue 9 (optimizer keys in the model config, the old RNN module) and before
issue 11 (no moving average of the generator, no loss switches) load."""

import torch

from flik_lab.utils.checkpoint import read_checkpoint
from flik_lab.utils.stored_config import stored_config


def test_a_gan_checkpoint_with_beta1_beta2_loads(trained_gan, tmp_path):
    ckpt = torch.load(trained_gan / "checkpoints" / "last.ckpt", weights_only=True)
    model = ckpt["flik_lab"]["model"]
    for key in ("optimizer_g", "optimizer_d", "scheduler"):
        model.pop(key)
    model.update(beta1=0.5, beta2=0.999)  # the keys of 0.1.0
    torch.save(ckpt, tmp_path / "old.ckpt")
    gan = read_checkpoint(tmp_path / "old.ckpt").model()
    assert gan.generator(gan.noise(2)).shape == (2, 1, 28, 28)


def test_a_gan_checkpoint_without_the_moving_average_samples_from_its_generator(trained_gan, tmp_path):
    ckpt = torch.load(trained_gan / "checkpoints" / "last.ckpt", weights_only=True)
    model = ckpt["flik_lab"]["model"]
    for key in ("ema_decay", "loss"):
        model.pop(key)
    model["discriminator"].pop("spectral_norm")
    ckpt["state_dict"] = {k: v for k, v in ckpt["state_dict"].items() if not k.startswith("generator_ema.")}
    torch.save(ckpt, tmp_path / "old.ckpt")
    gan = read_checkpoint(tmp_path / "old.ckpt").model()
    assert gan.generator_ema is None
    z = gan.noise(2)
    torch.testing.assert_close(gan(z), gan.generator(z))


def test_the_rnn_encoders_old_module_path_is_mapped():
    encoder = {"_target_": "flik_lab.models.text.vanilla_rnn.RNNEncoder", "embed_dim": 128, "hidden_size": 8}
    old = {
        "_target_": "flik_lab.models.text_classifier.TextClassifier",
        "vocab_size": 50,
        "weight_decay": 0.0,
        "encoder": encoder,
    }
    config = stored_config({"flik_lab": {"model": old}}, "model", "ckpt_path=old.ckpt")
    assert config.encoder._target_ == "flik_lab.models.text.rnn.RNNEncoder"
    assert "weight_decay" not in config
