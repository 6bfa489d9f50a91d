"""`flik-lab <command> [hydra overrides]`: one console script for every entry point."""

import importlib
import importlib.resources
import os
import sys

from flik_lab.commands.typed_text import typed_text

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
    "translate": (
        "flik_lab.commands.translate",
        'n-best translations and cross-attention: ckpt_path=... text="..." | input=file.txt',
    ),
    "stylize": (
        "flik_lab.commands.stylize",
        "images turned into the other domain by a CycleGAN: ckpt_path=... input=<image|folder> direction=a2b",
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


def config_options(group: str) -> list[str]:
    """The public configs of a config group, by name."""
    files = importlib.resources.files("flik_lab.conf") / group
    return sorted(
        f.name[:-5] for f in files.iterdir() if f.name.endswith(".yaml") and not f.name.startswith("_")
    )


def complete(args: list[str]) -> None:
    """Shell completion (`-sc query=bash|zsh`, what the script of `flik-lab train -sc install=bash` calls):
    command names first, then the chosen command's Hydra completion of its configs and keys."""
    line = os.environ.get("COMP_LINE", "")
    line = line[: int(os.environ.get("COMP_POINT", len(line)))]
    program, _, typed = line.partition(" ")
    words = typed.split(" ")
    two = " ".join(words[:2])
    name = two if two in COMMANDS and len(words) > 2 else words[0]
    if name not in COMMANDS or len(words) == len(name.split()):  # still typing the command's name
        print(" ".join(dict.fromkeys(n.split()[len(words) - 1] for n in COMMANDS if n.startswith(typed))))
        return
    if name == "compare":
        return  # paths: the shell's own default completion
    rest = typed[len(name) + 1 :]
    os.environ["COMP_LINE"] = f"{program} {rest}"
    os.environ["COMP_POINT"] = str(len(os.environ["COMP_LINE"]))
    sys.argv = [sys.argv[0], "-sc", *args]
    from flik_lab.commands.app import lazy_body, run_command

    run_command(COMMANDS[name][0].rsplit(".", 1)[1], lazy_body(COMMANDS[name][0]))


def main() -> None:
    if sys.argv[1:2] in (["-sc"], ["--shell-completion"]):
        complete(sys.argv[2:])
        return
    words = 2 if " ".join(sys.argv[1:3]) in COMMANDS else 1  # "latent interpolate" is one command
    command = " ".join(sys.argv[1 : 1 + words])
    if command not in COMMANDS:
        print(usage(), file=sys.stderr)
        sys.exit(0 if command in ("-h", "--help") else 2)
    module = COMMANDS[command][0]
    sys.argv = [sys.argv[0]] + sys.argv[1 + words :]  # Hydra parses the overrides from sys.argv
    if command == "translate":
        sys.argv = [sys.argv[0], *typed_text(sys.argv[1:])]
    if (
        command == "tune"
        and "--help" in sys.argv
        and not any(a.startswith("hparams_search=") for a in sys.argv)
    ):
        searches = config_options("hparams_search")  # a required group: Hydra's help needs one to compose
        print(f"flik-lab tune needs hparams_search=<{'|'.join(searches)}>; shown: {searches[0]}\n")
        sys.argv.append(f"hparams_search={searches[0]}")
    if command == "compare":  # argparse, not Hydra
        importlib.import_module(module).main()
        return
    from flik_lab.commands.app import lazy_body, run_command

    config_name = module.rsplit(".", 1)[1]
    run_command(config_name, lazy_body(module), after_dashes="train_overrides" if command == "tune" else None)


if __name__ == "__main__":
    main()
