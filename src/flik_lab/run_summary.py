"""The end of a training run: a summary in a few lines (best and last checkpoints, final metrics, what to
open next) and the best monitored value in TensorBoard's HPARAMS tab."""

import re
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger

from flik_lab.callbacks.epoch_report import format_metrics


def _relative(path: str | Path, run_dir: Path) -> str:
    path = Path(path)
    return str(path.relative_to(run_dir)) if path.is_relative_to(run_dir) else str(path)


def monitored_checkpoint(trainer: L.Trainer) -> ModelCheckpoint | None:
    """The checkpoint callback that keeps the best epoch by a metric (None when nothing is monitored)."""
    checkpoints = (c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint))
    return next((c for c in checkpoints if c.monitor), None)


# what to do with a finished run's checkpoint, by the kind of data its model learns from
NEXT_COMMANDS = {
    "images": ["flik-lab sample ckpt_path={ckpt}", "flik-lab latent interpolate ckpt_path={ckpt}"],
    "reviews": ['flik-lab explain ckpt_path={ckpt} text="A review to explain."'],
    "sentence_pairs": ['flik-lab translate ckpt_path={ckpt} "a sentence to translate"'],
    "unpaired_images": ["flik-lab stylize ckpt_path={ckpt} input=<image or folder> direction=a2b"],
}


def run_summary(
    trainer: L.Trainer,
    run_dir: Path,
    metrics: dict[str, float],
    seconds: float,
    tested: str | None,
    trust: list[str],
) -> str:
    """The summary printed and logged at the end of `flik-lab train`. `tested`: the checkpoint the test
    figures come from (None: the final weights); `trust`: classes the checkpoint commands must be told to
    trust."""
    lines = [f"flik-lab: run finished in {seconds:.1f} s: {run_dir}"]
    best = monitored_checkpoint(trainer)
    if best is not None and best.best_model_path:
        epoch = re.search(r"epoch_(\d+)", Path(best.best_model_path).name)
        at = f" at epoch {int(epoch.group(1))}" if epoch else ""
        score = float(best.best_model_score) if best.best_model_score is not None else float("nan")
        lines.append(f"  best {best.monitor} {score:.4g}{at}: {_relative(best.best_model_path, run_dir)}")
    last = run_dir / "checkpoints" / "last.ckpt"
    if last.is_file():
        epoch = trainer.current_epoch - 1 if trainer.current_epoch else 0
        lines.append(
            f"  last state (epoch {epoch}): {_relative(last, run_dir)}  (resume: ckpt_path=last here)"
        )
    test = {k: v for k, v in metrics.items() if k.startswith("test/")}
    if test:
        source = _relative(tested, run_dir) if tested else "the final weights"
        lines.append(f"  test of {source}: {format_metrics(test)}")
    for folder, what in (("samples", "sample grids"), ("attention", "attention heatmaps")):
        pictures = sorted((run_dir / folder).glob("*.png"))
        if pictures:
            lines.append(f"  {what}: {_relative(pictures[-1], run_dir)} (and {len(pictures) - 1} more)")
    if (run_dir / "csv" / "metrics.csv").is_file():
        lines.append(f"  metrics: csv/metrics.csv; compare runs: flik-lab compare {run_dir.parent}")
    ckpt = tested or (str(last) if last.is_file() else None)
    if ckpt:
        kind = getattr(trainer.lightning_module, "data_kind", None)
        commands = [*NEXT_COMMANDS.get(kind, []), "flik-lab eval ckpt_path={ckpt}"]
        trusted = f" trusted_targets=[{','.join(trust)}]" if trust else ""
        for i, command in enumerate(commands):
            lines.append(f"  {'next:' if i == 0 else '     '} {command.format(ckpt=ckpt)}{trusted}")
    return "\n".join(lines)


def hparams_with_best(trainer: L.Trainer, params: dict) -> None:
    """Give TensorBoard's HPARAMS tab the best monitored value (`best/val/fid`) beside the run's config."""
    best = monitored_checkpoint(trainer)
    if best is None or best.best_model_score is None:
        return
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, {f"best/{best.monitor}": float(best.best_model_score)})
