"""The checkpoint paths a command line names, checked to exist before anything heavy is imported."""

from pathlib import Path

from omegaconf import DictConfig

LAST = "last"  # `train ckpt_path=last`: the run directory's newest checkpoint, if any
CHECKPOINT_KEYS = ("ckpt_path", "classifier_ckpt")


def checkpoint_file(path: str | Path, key: str = "ckpt_path") -> Path:
    """`path` as a file that exists; `key` is the command-line key that named it, for the error."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{key}={path} does not exist; expected a .ckpt written by `flik-lab train`")
    return path


def check_checkpoint_files(cfg: DictConfig) -> None:
    """Raise `FileNotFoundError` for the first checkpoint key of `cfg` naming a file that does not exist."""
    for key in CHECKPOINT_KEYS:
        value = cfg.get(key)
        if value is not None and value != LAST:
            checkpoint_file(value, key)
