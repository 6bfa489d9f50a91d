"""Structured schemas of the top-level keys of `train.yaml`, `eval.yaml` and the other commands' configs."""

# OmegaConf 2.3 understands typing.Optional, not PEP 604 unions, in structured configs
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from flik_lab.utils.resolvers import register_resolvers


@dataclass
class PathsSchema:
    data_dir: str = MISSING
    log_dir: str = MISSING
    output_dir: Optional[str] = MISSING  # None only under `--cfg job --resolve`, before Hydra sets it


@dataclass
class ExtrasSchema:
    ignore_warnings: bool = True  # silence other libraries' warnings that flik-lab runs trigger by design
    # at most this many epochs for each network a run fits before it trains (digit readers, domain
    # classifiers: `${flik_lab.fit_epochs:30}` in their configs); null: their own; debug=tiny: 1
    fit_epochs: Optional[int] = None


@dataclass
class RunSchema:
    """Keys shared by every entry point."""

    task_name: str = MISSING
    seed: Optional[int] = None
    tags: list[str] = field(default_factory=list)
    paths: PathsSchema = field(default_factory=PathsSchema)
    extras: ExtrasSchema = field(default_factory=ExtrasSchema)
    trainer: Any = None
    logger: Any = None
    callbacks: Any = None
    data: Any = None
    model: Any = None


@dataclass
class TrainSchema(RunSchema):
    ckpt_path: Optional[str] = None  # resume from this checkpoint; `last`: this run dir's newest, if any
    test: bool = True  # test the best checkpoint after fitting


@dataclass
class CheckpointRunSchema(RunSchema):
    """Keys of the commands that rebuild a model from a checkpoint's stored (untrusted) config."""

    ckpt_path: str = MISSING
    # classes (dotted paths) a stored config may build besides flik-lab's own models and data modules
    trusted_targets: list[str] = field(default_factory=list)


@dataclass
class EvalSchema(CheckpointRunSchema):
    """`flik-lab eval`: test metrics of a checkpoint."""


@dataclass
class SampleSchema(CheckpointRunSchema):
    num_samples: int = 64
    nrow: Optional[int] = None
    output: str = "samples.png"


@dataclass
class ExplainSchema(CheckpointRunSchema):
    text: str = MISSING
    output: str = "attention.png"
    max_tokens: int = 400


@dataclass
class TranslateSchema(CheckpointRunSchema):
    text: Optional[str] = None
    input: Optional[str] = None
    output: str = "translations.txt"
    heatmap: str = "cross_attention.png"
    references: Optional[str] = None
    beam_size: Optional[int] = None
    nbest: Optional[int] = None
    length_penalty: Optional[float] = None
    batch_size: int = 64


@dataclass
class StylizeSchema(CheckpointRunSchema):
    input: str = MISSING
    direction: str = "a2b"
    output: str = "stylized"
    grid: str = "stylized_grid.png"
    batch_size: int = 32


@dataclass
class LatentInterpolateSchema(CheckpointRunSchema):
    method: str = "slerp"
    steps: int = 10
    pairs: Any = 4  # a count of random pairs, or [[i, j], ...] indices into `latents`
    latents: Optional[str] = None
    frame_ms: int = 120


@dataclass
class LatentArithmeticSchema(CheckpointRunSchema):
    expr: str = MISSING
    classifier_ckpt: Optional[str] = None
    num_samples: int = 2000
    confidence: float = 0.9
    min_count: int = 10
    num_neighbours: int = 8
    neighbour_std: float = 0.25


@dataclass
class ParamSchema:
    """One searched key of `hparams_search.params`: a float/int range or categorical choices."""

    type: str = MISSING  # float | int | categorical
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    choices: list[Any] = field(default_factory=list)


@dataclass
class SamplerSchema:
    type: str = "tpe"  # tpe | random
    seed: Optional[int] = None


@dataclass
class PrunerSchema:
    type: str = "median"  # median | none
    n_startup_trials: int = 5  # completed trials before any trial is pruned
    n_warmup_steps: int = 0  # validation epochs of a trial before it may be pruned


@dataclass
class HparamsSearchSchema:
    metric: str = MISSING
    direction: str = MISSING  # minimize | maximize
    n_trials: int = 20
    sampler: SamplerSchema = field(default_factory=SamplerSchema)
    pruner: PrunerSchema = field(default_factory=PrunerSchema)
    params: dict[str, ParamSchema] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)  # train overrides every trial gets


@dataclass
class TuneSchema:
    task_name: str = MISSING
    paths: PathsSchema = field(default_factory=PathsSchema)
    extras: ExtrasSchema = field(default_factory=ExtrasSchema)
    hparams_search: HparamsSearchSchema = field(default_factory=HparamsSearchSchema)
    study_name: str = "tune"
    study_dir: Optional[str] = None  # an earlier sweep directory whose study goes on
    n_trials: Optional[int] = None  # None: hparams_search.n_trials
    train_overrides: list[str] = field(default_factory=list)


def register_schemas() -> None:
    """The top-level schemas and flik-lab's resolvers (`hydra/launcher=slurm` counts devices with them)."""
    register_resolvers()
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainSchema)
    store.store(name="eval_schema", node=EvalSchema)
    store.store(name="sample_schema", node=SampleSchema)
    store.store(name="explain_schema", node=ExplainSchema)
    store.store(name="translate_schema", node=TranslateSchema)
    store.store(name="stylize_schema", node=StylizeSchema)
    store.store(name="latent_interpolate_schema", node=LatentInterpolateSchema)
    store.store(name="latent_arithmetic_schema", node=LatentArithmeticSchema)
    store.store(name="tune_schema", node=TuneSchema)
