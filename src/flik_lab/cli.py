"""`flik-lab <command> [hydra overrides]`: one console script for every entry point."""

import importlib
import sys

COMMANDS = {
    "train": ("flik_lab.train", "fit a model (default: the GAN on the shipped MNIST digits)"),
    "eval": ("flik_lab.evaluate", "test metrics of a checkpoint: ckpt_path=..."),
    "sample": ("flik_lab.sample", "images from a GAN checkpoint: ckpt_path=... num_samples=N"),
    "explain": (
        "flik_lab.explain",
        'a text classifier\'s prediction and attention: ckpt_path=... text="..."',
    ),
}


def usage() -> str:
    lines = ["usage: flik-lab <command> [key=value ...] [-m] [--help]", "", "commands:"]
    lines += [f"  {name:8s}{text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(usage(), file=sys.stderr)
        sys.exit(0 if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help") else 2)
    module = importlib.import_module(COMMANDS[sys.argv[1]][0])
    sys.argv = [sys.argv[0]] + sys.argv[2:]  # Hydra parses the overrides from sys.argv
    module.main()


if __name__ == "__main__":
    main()
