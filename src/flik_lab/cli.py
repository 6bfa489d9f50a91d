"""`flik-lab <command> [hydra overrides]`: one console script for every entry point."""

import importlib
import sys

COMMANDS = {
    "train": ("flik_lab.commands.train", "fit a model (default: the GAN on the shipped MNIST digits)"),
    "eval": ("flik_lab.commands.eval", "test metrics of a checkpoint: ckpt_path=..."),
    "sample": ("flik_lab.commands.sample", "images from a GAN checkpoint: ckpt_path=... num_samples=N"),
    "latent interpolate": (
        "flik_lab.commands.latent_interpolate",
        "paths between latent points: ckpt_path=...",
    ),
    "latent arithmetic": (
        "flik_lab.commands.latent_arithmetic",
        'concept vectors: ckpt_path=... expr="7 - 1 + 0"',
    ),
    "explain": (
        "flik_lab.commands.explain",
        'a text classifier\'s prediction and attention: ckpt_path=... text="..."',
    ),
    "tune": (
        "flik_lab.commands.tune",
        "Optuna search over train runs, with pruning: hparams_search=gan_fid [n_trials=N] [study_dir=...]",
    ),
    "compare": (
        "flik_lab.commands.compare",
        "table and plot of runs' metrics: "
        "flik-lab compare outputs/train/multiruns/<sweep> [--metric val/fid]",
    ),
}


def usage() -> str:
    lines = ["usage: flik-lab <command> [key=value ...] [-m] [--help]", "", "commands:"]
    lines += [f"  {name:20s}{text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main() -> None:
    words = 2 if " ".join(sys.argv[1:3]) in COMMANDS else 1  # "latent interpolate" is one command
    command = " ".join(sys.argv[1 : 1 + words])
    if command not in COMMANDS:
        print(usage(), file=sys.stderr)
        sys.exit(0 if command in ("-h", "--help") else 2)
    module = importlib.import_module(COMMANDS[command][0])
    sys.argv = [sys.argv[0]] + sys.argv[1 + words :]  # Hydra parses the overrides from sys.argv
    module.main()


if __name__ == "__main__":
    main()
