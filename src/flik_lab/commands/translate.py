"""`flik-lab translate ckpt_path=... <sentence> | text="..." | input=file|-`: n-best translations, a
cross-attention plot, scores against `references=`."""

import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from omegaconf import DictConfig

from flik_lab.callbacks.cross_attention_heatmaps import pad_rows
from flik_lab.commands.app import print_written, refuse_to_overwrite, run_command
from flik_lab.commands.typed_text import typed_text
from flik_lab.data.sentence_pairs.tokenizer import UNK, UNK_ID, decode, tokens
from flik_lab.data.translation import TranslationDataModule
from flik_lab.models.seq2seq.decoding import Hypothesis
from flik_lab.models.translator import Translator
from flik_lab.plots.cross_attention import Aligned, cross_attention_figure
from flik_lab.utils.checkpoint import check_vocabulary_fits, read_checkpoint
from flik_lab.utils.errors import InputError
from flik_lab.utils.text_lines import utf8_lines

STDIN = "-"


def read_sentences(path: Path | str, key: str = "input") -> list[str]:
    """The lines of a UTF-8 file (`-`: of stdin); an empty line or a non-UTF-8 byte is an error naming the
    line."""
    path, data = Path(path).expanduser(), None
    if str(path) == STDIN:
        if sys.stdin.isatty():
            print("flik-lab: reading sentences from stdin, one per line; end with Ctrl-D", file=sys.stderr)
        data = sys.stdin.buffer.read()
    elif not path.is_file():
        raise FileNotFoundError(
            f"{key}={path} does not exist; expected a UTF-8 file with one sentence per line"
        )
    sentences = []
    for number, line in utf8_lines(path, key, data):
        line = line.strip()
        if not line:
            raise InputError(f"{key}={path}, line {number}: empty; expected one sentence per line")
        sentences.append(line)
    if not sentences:
        if data is not None:
            raise InputError(f"{key}=- reads stdin, which held no sentences; pipe them in, one per line")
        raise InputError(f"{key}={path} holds no sentences")
    return sentences


def scores(translations: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU (13a tokenization) and chrF as sacreBLEU computes them (chrF: characters only; chrF++:
    with word bigrams, the `chrf` training logs), all x100, and the fraction of exact matches."""
    from torchmetrics.text import CHRFScore, SacreBLEUScore

    wrapped = [[reference] for reference in references]
    exact = sum(t.strip() == r.strip() for t, r in zip(translations, references, strict=True))
    return {
        "bleu": 100 * SacreBLEUScore(tokenize="13a")(translations, wrapped).item(),
        "chrf": 100 * CHRFScore(n_word_order=0)(translations, wrapped).item(),
        "chrf++": 100 * CHRFScore(n_word_order=2)(translations, wrapped).item(),
        "exact_match": exact / len(references),
        "sentences": len(references),
    }


def scores_file(output: Path) -> Path:
    """Where the scores of `output` go: named after it, so outputs in one folder keep their own."""
    return output.with_name(f"{output.stem}.scores.json")


def warn(label: str, problems: list[str]) -> None:
    print(f"flik-lab: warning: {label}: {'; '.join(problems)}", file=sys.stderr)


class LoadedTranslator:
    """A checkpoint's Translator with the tokenizers it was trained with."""

    def __init__(self, cfg: DictConfig):
        ckpt = read_checkpoint(cfg.ckpt_path)
        self.model = ckpt.model(cfg.trusted_targets, Translator)
        data = TranslationDataModule.from_checkpoint(ckpt, cfg.trusted_targets)
        self.source_tokenizer, self.target_tokenizer = data.source_tokenizer, data.target_tokenizer
        network = self.model.network
        check_vocabulary_fits(self.source_tokenizer.get_vocab_size(), network.source_vocab_size, ckpt.source)
        check_vocabulary_fits(self.target_tokenizer.get_vocab_size(), network.target_vocab_size, ckpt.source)
        self.model.target_vocab_size = self.target_tokenizer.get_vocab_size()
        self.max_length = data.max_length
        hp = self.model.hparams
        self.beam_size = hp.beam_size if cfg.beam_size is None else cfg.beam_size
        if self.beam_size < 1:
            raise InputError(f"beam_size={self.beam_size}: expected a positive integer (1: greedy)")
        self.length_penalty = cfg.length_penalty

    def read(self, sentences: list[str]) -> tuple[list[list[int]], list[list[str]]]:
        """The source ids of each sentence, cut to the model's `max_length` (nothing left: `[UNK]`), and
        what reading it lost: the pieces cut off, the characters the vocabulary does not hold."""
        rows, problems = [], []
        for sentence, encoding in zip(
            sentences, self.source_tokenizer.encode_batch(sentences, add_special_tokens=False), strict=True
        ):
            kept = encoding.ids[: self.max_length]
            lost = []
            if len(encoding.ids) > self.max_length:
                lost.append(f"{len(encoding.ids)} pieces, cut to {self.max_length} (data.max_length)")
            spans = [span for i, span in zip(kept, encoding.offsets, strict=False) if i == UNK_ID]
            unknown = dict.fromkeys(c for start, end in spans for c in sentence[start:end] if not c.isspace())
            if unknown:
                kind = "character" if len(unknown) == 1 else "characters"
                lost.append(f"unknown {kind} {', '.join(map(repr, unknown))} read as {UNK}")
            rows.append(kept or [UNK_ID])
            problems.append(lost)
        return rows, problems

    def translate(
        self, sentences: list[str], nbest: int = 1, labels: list[str] | None = None
    ) -> tuple[list[list[Hypothesis]], list[list[int]]]:
        """The `nbest` hypotheses of each sentence (best first) and the source ids they were read from; with
        `labels` (`line 3`), a warning on stderr for each sentence that was cut or held unknown characters."""
        ids, problems = self.read(sentences)
        for label, lost in zip(labels or [], problems, strict=False):
            if lost:
                warn(label, lost)
        source, lengths = pad_rows(ids, self.model.hparams.pad_id)
        found = self.model.translate_ids(source, lengths, self.beam_size, nbest, self.length_penalty)
        return found, ids

    def text(self, hypothesis: Hypothesis) -> str:
        return decode(self.target_tokenizer, [hypothesis.tokens])[0]


def translate_text(cfg: DictConfig, loaded: LoadedTranslator) -> list[Path]:
    """Print the n-best list of `cfg.text` with scores and write the best one's cross-attention heatmap."""
    heatmap = Path(cfg.heatmap).expanduser()
    nbest = loaded.beam_size if cfg.nbest is None else cfg.nbest
    if not 1 <= nbest <= loaded.beam_size:
        raise InputError(f"nbest={nbest}: expected 1 to beam_size={loaded.beam_size}")
    (found,), (ids,) = loaded.translate([cfg.text.strip()], nbest, labels=["text"])
    for rank, hypothesis in enumerate(found, start=1):
        print(f"{rank}. {hypothesis.score:9.4f}  {loaded.text(hypothesis)}")
    best = found[0]
    source = tokens(loaded.source_tokenizer, ids)
    target = tokens(loaded.target_tokenizer, best.tokens + [loaded.model.hparams.eos_id])
    weights = best.attention[..., : len(source)].float().numpy()
    fig = cross_attention_figure([Aligned(source, target, weights, f"{cfg.text}\n-> {loaded.text(best)}")])
    heatmap.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(heatmap, dpi=100)
    plt.close(fig)
    return [heatmap]


def translate_file(
    cfg: DictConfig, loaded: LoadedTranslator, sentences: list[str], references: list[str] | None = None
) -> list[Path]:
    """Translate `sentences` in batches of `cfg.batch_size` into `cfg.output`, one line each; with
    `references`, print their scores and write them beside the output (`en.txt` -> `en.scores.json`)."""
    output = Path(cfg.output).expanduser()
    lines = []
    for start in range(0, len(sentences), cfg.batch_size):
        batch = sentences[start : start + cfg.batch_size]
        labels = [f"line {number}" for number in range(start + 1, start + len(batch) + 1)]
        found, _ = loaded.translate(batch, labels=labels)
        lines += [loaded.text(hypotheses[0]) for hypotheses in found]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    if references is None:
        return [output]
    found = scores(lines, references)
    print(
        f"BLEU {found['bleu']:.2f}  chrF {found['chrf']:.2f}  chrF++ {found['chrf++']:.2f}  "
        f"exact match {found['exact_match']:.4f} ({round(found['exact_match'] * len(lines))}/{len(lines)})"
    )
    scores_path = scores_file(output)
    scores_path.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    return [output, scores_path]


def translate(cfg: DictConfig) -> list[Path]:
    """`text=` (or the sentence typed after the overrides) or `input=` (exactly one) translated by the
    checkpoint's model; returns the written paths."""
    if (cfg.text is None) == (cfg.input is None):
        raise InputError(
            'give exactly one of a sentence (flik-lab translate ckpt_path=... "drei hundert"), text="..." '
            "or input=<file with one sentence per line, - for stdin>"
        )
    if cfg.text is not None and not cfg.text.strip():
        raise InputError('text is empty; expected a sentence, e.g. text="dreihundertsiebenundzwanzig"')
    if cfg.text is not None:
        if cfg.references is not None:
            raise InputError("references= scores a file of translations: give it with input=, not text=")
        refuse_to_overwrite(Path(cfg.heatmap).expanduser(), hint="choose another heatmap=")
        with torch.no_grad():
            return translate_text(cfg, LoadedTranslator(cfg))
    output = Path(cfg.output).expanduser()
    written = [output] if cfg.references is None else [output, scores_file(output)]
    refuse_to_overwrite(*written, hint="choose another output=")
    if cfg.batch_size < 1:
        raise InputError(f"batch_size={cfg.batch_size}: expected a positive integer")
    # bad lines and a reference file that does not match fail before the model loads
    sentences = read_sentences(cfg.input)
    references = None
    if cfg.references is not None:
        references = read_sentences(cfg.references, "references")
        if len(references) != len(sentences):
            raise InputError(
                f"references={cfg.references} holds {len(references)} lines but input={cfg.input} holds "
                f"{len(sentences)}; expected one reference per input line"
            )
    with torch.no_grad():
        return translate_file(cfg, LoadedTranslator(cfg), sentences, references)


def run(cfg: DictConfig) -> None:
    print_written(translate(cfg))


def main() -> None:
    sys.argv = [sys.argv[0], *typed_text(sys.argv[1:])]
    run_command("translate", run)


if __name__ == "__main__":
    main()
