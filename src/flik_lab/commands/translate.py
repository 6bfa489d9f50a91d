"""`flik-lab translate ckpt_path=... text="..." | input=file`: n-best translations, cross-attention plot."""

from pathlib import Path

import matplotlib.pyplot as plt
import torch
from omegaconf import DictConfig

from flik_lab.callbacks.cross_attention_heatmaps import pad_rows
from flik_lab.commands.app import in_run_dir, print_written, refuse_to_overwrite, run_command
from flik_lab.data.parallel.tokenizer import decode, encode, tokenizers_from_state, tokens
from flik_lab.data.translation import TranslationDataModule
from flik_lab.models.seq2seq.decoding import Hypothesis
from flik_lab.models.translator import Translator
from flik_lab.plots.cross_attention import Aligned, cross_attention_figure
from flik_lab.utils.checkpoint import check_vocabulary_fits, read_checkpoint
from flik_lab.utils.errors import InputError
from flik_lab.utils.text_lines import utf8_lines


def read_sentences(path: Path) -> list[str]:
    """The lines of a UTF-8 file; an empty line or a non-UTF-8 byte is an error naming the line."""
    if not path.is_file():
        raise FileNotFoundError(
            f"input={path} does not exist; expected a UTF-8 file with one sentence per line"
        )
    sentences = []
    for number, line in utf8_lines(path, "input"):
        line = line.strip()
        if not line:
            raise InputError(f"input={path}, line {number}: empty; expected one sentence per line")
        sentences.append(line)
    if not sentences:
        raise InputError(f"input={path} holds no sentences")
    return sentences


class LoadedTranslator:
    """A checkpoint's Translator with the tokenizers it was trained with."""

    def __init__(self, cfg: DictConfig):
        ckpt = read_checkpoint(cfg.ckpt_path)
        self.model = ckpt.model(cfg.trusted_targets, Translator)
        state = ckpt.data_state(TranslationDataModule)
        self.source_tokenizer, self.target_tokenizer = tokenizers_from_state(state)
        network = self.model.network
        check_vocabulary_fits(self.source_tokenizer.get_vocab_size(), network.source_vocab_size, ckpt.source)
        check_vocabulary_fits(self.target_tokenizer.get_vocab_size(), network.target_vocab_size, ckpt.source)
        self.model.target_vocab_size = self.target_tokenizer.get_vocab_size()
        self.max_length = ckpt.data_config(cfg.trusted_targets).max_length
        if self.max_length < 1:
            raise InputError(f"{ckpt.source}: stored data.max_length={self.max_length}: expected 1 or more")
        hp = self.model.hparams
        self.beam_size = hp.beam_size if cfg.beam_size is None else cfg.beam_size
        if self.beam_size < 1:
            raise InputError(f"beam_size={self.beam_size}: expected a positive integer (1: greedy)")
        self.length_penalty = cfg.length_penalty

    def translate(
        self, sentences: list[str], nbest: int = 1
    ) -> tuple[list[list[Hypothesis]], list[list[int]]]:
        """The `nbest` hypotheses of each sentence (best first) and the source ids they were read from."""
        ids = encode(self.source_tokenizer, sentences, self.max_length)
        source, lengths = pad_rows(ids, self.model.hparams.pad_id)
        found = self.model.translate_ids(source, lengths, self.beam_size, nbest, self.length_penalty)
        return found, ids

    def text(self, hypothesis: Hypothesis) -> str:
        return decode(self.target_tokenizer, [hypothesis.tokens])[0]


def translate_text(cfg: DictConfig, loaded: LoadedTranslator) -> list[Path]:
    """Print the n-best list of `cfg.text` with scores and write the best one's cross-attention heatmap."""
    heatmap = in_run_dir(cfg, cfg.heatmap)
    nbest = loaded.beam_size if cfg.nbest is None else cfg.nbest
    if not 1 <= nbest <= loaded.beam_size:
        raise InputError(f"nbest={nbest}: expected 1 to beam_size={loaded.beam_size}")
    (found,), (ids,) = loaded.translate([cfg.text.strip()], nbest)
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


def translate_file(cfg: DictConfig, loaded: LoadedTranslator, sentences: list[str]) -> list[Path]:
    """Translate `sentences` in batches of `cfg.batch_size` into `cfg.output`, one line each."""
    output = in_run_dir(cfg, cfg.output)
    lines = []
    for start in range(0, len(sentences), cfg.batch_size):
        found, _ = loaded.translate(sentences[start : start + cfg.batch_size])
        lines += [loaded.text(hypotheses[0]) for hypotheses in found]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return [output]


def translate(cfg: DictConfig) -> list[Path]:
    """`text=` or `input=` (exactly one) translated by the checkpoint's model; returns the written paths."""
    if (cfg.text is None) == (cfg.input is None):
        raise InputError('give exactly one of text="a sentence" or input=<file with one sentence per line>')
    if cfg.text is not None and not cfg.text.strip():
        raise InputError('text is empty; expected a sentence, e.g. text="dreihundertsiebenundzwanzig"')
    if cfg.text is not None:
        refuse_to_overwrite(in_run_dir(cfg, cfg.heatmap), hint="choose another heatmap=")
        with torch.no_grad():
            return translate_text(cfg, LoadedTranslator(cfg))
    refuse_to_overwrite(in_run_dir(cfg, cfg.output), hint="choose another output=")
    if cfg.batch_size < 1:
        raise InputError(f"batch_size={cfg.batch_size}: expected a positive integer")
    sentences = read_sentences(Path(cfg.input).expanduser())  # bad lines fail before the model loads
    with torch.no_grad():
        return translate_file(cfg, LoadedTranslator(cfg), sentences)


def run(cfg: DictConfig) -> None:
    print_written(translate(cfg))


def main() -> None:
    run_command("translate", run)


if __name__ == "__main__":
    main()
