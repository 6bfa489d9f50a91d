"""Sequence-to-sequence translation as a LightningModule: teacher-forced training, decoded evaluation."""

from typing import Annotated

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.text import CHRFScore, Perplexity, SacreBLEUScore

from flik_lab.models.contracts import SentencePairData, Seq2SeqNetwork
from flik_lab.models.finite_loss import BatchSteps, NonfiniteLoss
from flik_lab.models.optimization import (
    OptimizerFactory,
    SchedulerFactory,
    check_optimizer,
    single_optimizer,
)
from flik_lab.models.seq2seq.decoding import Hypothesis, beam_search, greedy_decode
from flik_lab.utils.arguments import ArgumentError, Fraction, Positive, Range, check_declared

TeacherForcing = Annotated[float, Range(0, "a ratio in [0, 1] (1: always the reference)", maximum=1)]
LengthPenalty = Annotated[float, Range(0, "a number >= 0 (0: no length penalty)")]


class LimitedVocabulary(nn.Module):
    """`network` decoding only the first `size` target ids: the tokenizer's, when the output layer is larger
    (`data.vocab_size` is an upper bound; a small corpus trains fewer tokens)."""

    def __init__(self, network: nn.Module, size: int):
        super().__init__()
        self.network, self.size = network, size

    def start(self, source: torch.Tensor, source_lengths: torch.Tensor):
        return self.network.start(source, source_lengths)

    def step(self, state, tokens: torch.Tensor):
        logits, state, attention = self.network.step(state, tokens)
        beyond = torch.arange(logits.shape[-1], device=logits.device) >= self.size
        return logits.masked_fill(beyond, float("-inf")), state, attention

    def reorder(self, state, index: torch.Tensor):
        return self.network.reorder(state, index)


def translation_scores(pad_id: int) -> MetricCollection:
    """A stage's scores: corpus BLEU and chrF (in %), exact matches, token accuracy, perplexity."""
    return MetricCollection(
        {
            "bleu": 100 * SacreBLEUScore(tokenize="13a"),
            "chrf": 100 * CHRFScore(),
            "exact_match": MeanMetric(),
            "token_acc": MeanMetric(),
            "perplexity": Perplexity(ignore_index=pad_id),
        },
        compute_groups=False,  # each is updated on its own inputs
    )


class Translator(L.LightningModule):
    """Trains `network` on `target[:, :-1] -> target[:, 1:]`; validation decodes greedily, test with the beam.

    Detokenizing needs the target tokenizer: the data's (`use_data`), or a loaded one set as `detokenize`.
    """

    data_kind = "sentence_pairs"  # a DataModule must list it in its `data_kinds`

    def __init__(
        self,
        network: nn.Module,
        lr: Positive[float] = 1e-3,
        optimizer: OptimizerFactory | None = None,
        scheduler: SchedulerFactory | None = None,
        label_smoothing: Fraction = 0.1,
        teacher_forcing: TeacherForcing = 1.0,
        beam_size: Positive[int] = 4,
        length_penalty: LengthPenalty = 1.0,
        max_length: Positive[int] = 128,
        max_length_ratio: Positive[float] = 2.0,
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
        nonfinite_loss: NonfiniteLoss = "error",
    ):
        check_declared(Translator.__init__, locals())
        super().__init__()
        if not isinstance(network, Seq2SeqNetwork):
            raise ArgumentError("network", type(network).__name__, "a Seq2SeqNetwork (models/contracts.py)")
        check_optimizer("optimizer", optimizer)
        self.save_hyperparameters(ignore=["network", "optimizer", "scheduler"], logger=False)
        self.network, self.optimizer, self.scheduler = network, optimizer, scheduler
        self.detokenize = None  # ids -> sentences: the data's (`use_data`) or a loaded tokenizer's
        self.target_vocab_size: int | None = None  # the tokenizer's size, if below the output layer's
        self._data: SentencePairData | None = None
        self.skipped_steps = 0
        self.scores = nn.ModuleDict({stage: translation_scores(pad_id) for stage in ("val", "test")})

    def use_data(self, data: SentencePairData) -> None:
        """Detokenize with `data`'s target tokenizer (`models/connect.py` hands it over)."""
        self._data = data

    def setup(self, stage: str) -> None:
        if self.detokenize is None and self._data is not None:  # its tokenizers exist once it is set up
            self.detokenize = self._data.decode_target
            self.target_vocab_size = self._data.target_vocab_size

    def forward(self, source: torch.Tensor, source_lengths: torch.Tensor, target_in: torch.Tensor):
        """Teacher-forced logits `(N, T, V)` and cross-attention weights."""
        return self.network(source, source_lengths, target_in)

    def _loss(self, batch: dict, teacher_forcing: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        target_in, labels = batch["target"][:, :-1], batch["target"][:, 1:]
        logits, _ = self.network(batch["source"], batch["source_lengths"], target_in, teacher_forcing)
        loss = F.cross_entropy(
            logits.float().transpose(1, 2),
            labels,
            ignore_index=self.hparams.pad_id,
            label_smoothing=self.hparams.label_smoothing,
        )
        return loss, logits

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor | None:
        steps = BatchSteps(self)  # before the forward pass: a skipped step undoes what it changed
        loss, _ = self._loss(batch, self.hparams.teacher_forcing)
        if not steps.take("train/loss", loss, batch_idx):
            return None
        self.log("train/loss", loss, prog_bar=True, batch_size=len(batch["source"]))
        return loss

    def decode_length(self, source_lengths: torch.Tensor) -> int:
        """The most tokens decoded for a batch: `max_length_ratio` x its longest source + 10, capped."""
        longest = int(source_lengths.max())
        return min(self.hparams.max_length, int(self.hparams.max_length_ratio * longest) + 10)

    @torch.no_grad()
    def translate_ids(
        self,
        source: torch.Tensor,
        source_lengths: torch.Tensor,
        beam_size: int = 1,
        nbest: int = 1,
        length_penalty: float | None = None,
    ) -> list[list[Hypothesis]]:
        """The `nbest` best hypotheses of each source row; beam 1 is greedy decoding."""
        hp = self.hparams
        max_length = self.decode_length(source_lengths)
        network = self.network
        if self.target_vocab_size is not None and self.target_vocab_size < network.target_vocab_size:
            network = LimitedVocabulary(network, self.target_vocab_size)
        if beam_size == 1 and nbest == 1:
            found = greedy_decode(network, source, source_lengths, max_length, hp.bos_id, hp.eos_id)
            return [[hypothesis] for hypothesis in found]
        penalty = hp.length_penalty if length_penalty is None else length_penalty
        return beam_search(
            network,
            source,
            source_lengths,
            beam_size,
            max_length,
            hp.bos_id,
            hp.eos_id,
            length_penalty=penalty,
            nbest=nbest,
        )

    def _evaluate(self, batch: dict, stage: str, beam_size: int) -> None:
        loss, logits = self._loss(batch)
        labels = batch["target"][:, 1:]
        real = labels != self.hparams.pad_id
        correct = (logits.argmax(-1) == labels) & real
        scores = self.scores[stage]
        scores["token_acc"].update(correct.sum() / real.sum(), weight=real.sum())
        scores["perplexity"].update(logits.float(), labels)
        self.log(f"{stage}/loss", loss, batch_size=len(batch["source"]), sync_dist=True)

        if self.detokenize is None:
            raise RuntimeError(
                "Translator needs a detokenizer: connect it to sentence pairs (models/connect.py)"
            )
        best = [found[0] for found in self.translate_ids(batch["source"], batch["source_lengths"], beam_size)]
        predictions = self.detokenize([hypothesis.tokens for hypothesis in best])
        references = list(batch["target_text"])
        scores["bleu"].update(predictions, [[ref] for ref in references])
        scores["chrf"].update(predictions, [[ref] for ref in references])
        exact = torch.tensor([p.strip() == r.strip() for p, r in zip(predictions, references, strict=True)])
        scores["exact_match"].update(exact.float().to(self.device))
        # logged as objects: Lightning computes them (summed over ranks) at the epoch end and resets them
        for name, metric in scores.items():
            self.log(f"{stage}/{name}", metric, prog_bar=name in ("bleu", "exact_match"))

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "val", beam_size=1)

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._evaluate(batch, "test", beam_size=self.hparams.beam_size)

    def configure_optimizers(self):
        return single_optimizer(self, self.optimizer, self.scheduler, default=torch.optim.AdamW)
