"""The MNIST FID: real digits are close to real digits, noise is far from them."""

import torch

from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.metrics.fid import mnist_fid
from flik_lab.models.mnist_classifier import MNISTClassifier, load_pretrained


def _fid(a: torch.Tensor, b: torch.Tensor) -> float:
    fid = mnist_fid()
    fid.update(a, real=True)
    fid.update(b, real=False)
    return fid.compute().item()


def test_real_vs_real_far_below_noise_vs_real():
    data = MNIST5kDataModule(seed=0)
    data.setup()
    val, test = data.val_set.tensors[0], data.test_set.tensors[0]
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    real_vs_real, noise_vs_real = _fid(test, val), _fid(test, noise)
    assert real_vs_real < 0.05 * noise_vs_real, (real_vs_real, noise_vs_real)


def test_feature_extractor_is_frozen_float64():
    fid = mnist_fid()
    assert all(not p.requires_grad for p in fid.inception.parameters())
    assert fid.inception(torch.zeros(2, 1, 28, 28)).dtype == torch.float64
    digits = torch.rand(4, 1, 28, 28) * 2 - 1
    fid.eval()
    before = fid.inception(digits)
    fid.train()  # Lightning switches every submodule to train mode during fit
    assert torch.equal(fid.inception(digits), before)


def test_shipped_classifier_recognises_held_out_digits():
    data = MNIST5kDataModule(seed=0)
    data.setup()
    images, labels = data.test_set.tensors
    model = load_pretrained()
    assert isinstance(model, MNISTClassifier)
    with torch.no_grad():
        accuracy = (model(images).argmax(1) == labels).float().mean().item()
    assert accuracy >= 0.97  # the training script documents 98.0 %
