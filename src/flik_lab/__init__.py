"""flik-lab: Lightning + Hydra experiments for the "GAN and RNN" course exercises."""

__version__ = "0.1.0"
