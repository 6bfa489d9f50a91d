"""Fréchet distances in a domain classifier's feature space (InceptionV3 cannot be fetched offline)."""

import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from flik_lab.models.mnist_classifier import MNISTFeatures


def mnist_fid() -> FrechetInceptionDistance:
    """FID on 28x28 digits in [-1, 1], features from the shipped MNIST classifier, in float64."""
    fid = FrechetInceptionDistance(feature=MNISTFeatures(), reset_real_features=True)
    return fid.set_dtype(torch.float64)
