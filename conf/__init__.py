"""flik-lab's Hydra configs, installed as the package `flik_lab.conf` (`pkg://flik_lab.conf`)."""
