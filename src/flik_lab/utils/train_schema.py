"""Structured schemas of the top-level `train.yaml` / `eval.yaml` / `sample.yaml` keys."""

# OmegaConf 2.3 understands typing.Optional, not PEP 604 unions, in structured configs
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class PathsSchema:
    data_dir: str = MISSING
    log_dir: str = MISSING
    output_dir: str = MISSING


@dataclass
class RunSchema:
    """Keys shared by every entry point."""

    task_name: str = MISSING
    seed: Optional[int] = None
    tags: list[str] = field(default_factory=list)
    paths: PathsSchema = field(default_factory=PathsSchema)
    trainer: Any = None
    logger: Any = None
    callbacks: Any = None
    data: Any = None
    model: Any = None


@dataclass
class TrainSchema(RunSchema):
    ckpt_path: Optional[str] = None  # resume training from this checkpoint
    test: bool = True  # test the best checkpoint after fitting


@dataclass
class EvalSchema(RunSchema):
    ckpt_path: str = MISSING


@dataclass
class SampleSchema(RunSchema):
    ckpt_path: str = MISSING
    num_samples: int = 64
    nrow: int = 8
    output: str = "samples.png"


@dataclass
class ExplainSchema(RunSchema):
    ckpt_path: str = MISSING
    text: str = MISSING
    output: str = "attention.png"
    max_tokens: int = 400


@dataclass
class LatentInterpolateSchema(RunSchema):
    ckpt_path: str = MISSING
    method: str = "slerp"
    steps: int = 10
    pairs: Any = 4  # a count of random pairs, or [[i, j], ...] indices into `latents`
    latents: Optional[str] = None
    frame_ms: int = 120


@dataclass
class LatentArithmeticSchema(RunSchema):
    ckpt_path: str = MISSING
    expr: str = MISSING
    classifier_ckpt: Optional[str] = None
    num_samples: int = 2000
    confidence: float = 0.9
    min_count: int = 10
    num_neighbours: int = 8
    neighbour_std: float = 0.25


def register_schemas() -> None:
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainSchema)
    store.store(name="eval_schema", node=EvalSchema)
    store.store(name="sample_schema", node=SampleSchema)
    store.store(name="explain_schema", node=ExplainSchema)
    store.store(name="latent_interpolate_schema", node=LatentInterpolateSchema)
    store.store(name="latent_arithmetic_schema", node=LatentArithmeticSchema)
