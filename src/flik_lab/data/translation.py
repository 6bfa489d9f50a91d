"""`data=translation`: sentence pairs (numbers in words, Anki TSV files, hub data) as subword ids, cached."""

import logging
from pathlib import Path
from typing import Annotated

import tokenizers
from tokenizers import Tokenizer

from flik_lab.data.corpus import META, SPLIT_NAMES, Index, TokenizedCorpus, TokenizedCorpusDataModule
from flik_lab.data.sentence_pairs import numbers
from flik_lab.data.sentence_pairs.batching import PairSplit, pair_collate
from flik_lab.data.sentence_pairs.sources import Pair, Source, hold_out, input_files, load_hf, load_tsv
from flik_lab.data.sentence_pairs.tokenizer import (
    BOS_ID,
    EOS_ID,
    PAD_ID,
    UNK_ID,
    TokenizerKind,
    build_tokenizer,
    decode,
    encode,
    tokenizers_from_state,
    tokens,
)
from flik_lab.utils.arguments import ArgumentError, Count, at_least, check_declared
from flik_lab.utils.errors import InputError
from flik_lab.utils.progress_log import logged_phase

log = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the tokenizers or the cache files change


def check_sources(
    source: Source,
    langs: tuple[str, str],
    numbers_range: tuple[int, int],
    columns: tuple[int, int],
    train_file: str | None,
    hf: tuple[str, str],
) -> None:
    """The checks between arguments that one annotation cannot declare."""
    at_least(numbers_range[0]).check("max_number", numbers_range[1])
    if columns[1] == columns[0]:
        raise ArgumentError("target_column", columns[1], f"a column other than source_column={columns[0]}")
    if langs[1] == langs[0]:
        raise ArgumentError("target_lang", langs[1], f"a language other than source_lang={langs[0]!r}")
    if source == "numbers":
        for name, lang in zip(("source_lang", "target_lang"), langs, strict=True):
            if not numbers.supported(lang):
                raise ArgumentError(name, lang, "a language num2words can spell numbers in (de, en, fr, ...)")
    if source == "tsv" and not train_file:
        raise ArgumentError("train_file", train_file, "the path of a TSV file (target<TAB>source)")
    if source == "hf":
        for name, value in zip(("hf_name", "hf_train_split"), hf, strict=True):
            if not value:
                raise ArgumentError(name, value, "a hub dataset name and its training split")


def _cut_long(name: str, pairs: list[Pair], source: list, target: list, max_length: int) -> tuple[list, int]:
    """Training pairs with a side over `max_length` ids left out, other splits' ids cut; and how many."""
    long = [max(len(s), len(t)) > max_length for s, t in zip(source, target, strict=True)]
    if name == "train":  # an over-long pair would be learned cut off mid-sentence: leave it out
        keep = [i for i, over in enumerate(long) if not over]
        if not keep:
            raise InputError(
                f"data.max_length={max_length} drops all {len(long)} training pairs: "
                "each has a side longer than that many tokens"
            )
        return [[rows[i] for i in keep] for rows in (pairs, source, target)], sum(long)
    # every reference pair is scored: ids cut, the texts that BLEU compares against kept whole
    return [pairs, [row[:max_length] for row in source], [row[:max_length] for row in target]], sum(long)


class TranslationDataModule(TokenizedCorpusDataModule):
    """Batches of `source (N, S)`, `target (N, T)` = `[BOS] y [EOS]` (both padded with `[PAD]`=0 at the end),
    their lengths and raw texts. Subword tokenizers are trained on the train split only.

    Sources: `numbers` (offline: numbers in words, split by number), `tsv` (Anki files, one per split or one
    held out by seed), `hf` (a hub dataset). Training pairs with a side over `max_length` tokens are dropped
    and counted; validation and test pairs are kept, their ids cut to `max_length` (texts kept whole).
    """

    data_kinds = ("sentence_pairs",)  # the `data_kind`s of the models it can feed
    CACHE_NAME, TOKENIZERS = "translation", ("source_tokenizer", "target_tokenizer")
    split_type, collate = PairSplit, staticmethod(pair_collate)

    def __init__(
        self,
        data_dir: str,
        source: Source = "numbers",
        source_lang: str = "de",
        target_lang: str = "en",
        min_number: Index = 1,
        max_number: int = 9999,
        train_file: str | None = "deu.txt",
        val_file: str | None = None,
        test_file: str | None = None,
        source_column: Index = 1,
        target_column: Index = 0,
        hf_name: str = "bentrevett/multi30k",
        hf_config: str | None = None,
        hf_train_split: str = "train",
        hf_val_split: str | None = "validation",
        hf_test_split: str | None = "test",
        tokenizer: TokenizerKind = "bpe",
        vocab_size: Annotated[int, at_least(5)] = 100,  # the 4 special tokens and at least one more
        shared_vocab: bool = False,
        min_frequency: Count = 2,
        lowercase: bool = False,
        max_length: Count = 64,
        val_size: float = 500,
        test_size: float = 1000,
        batch_size: Count = 64,
        eval_batch_size: Count = 256,
        bucketing: bool = True,
        bucket_factor: Count = 50,
        num_workers: Index = 0,
        seed: int = 0,
    ):
        check_declared(TranslationDataModule.__init__, locals())
        langs, columns = (source_lang, target_lang), (source_column, target_column)
        check_sources(source, langs, (min_number, max_number), columns, train_file, (hf_name, hf_train_split))
        super().__init__(data_dir, batch_size, eval_batch_size, bucketing, bucket_factor, num_workers, seed)
        self.source, (self.source_lang, self.target_lang) = source, langs
        self.min_number, self.max_number = min_number, max_number
        self.files = {"train": train_file, "val": val_file, "test": test_file}
        self.source_column, self.target_column = columns
        self.hf_name, self.hf_config = hf_name, hf_config
        self.hf_splits = {"train": hf_train_split, "val": hf_val_split, "test": hf_test_split}
        self.tokenizer_kind, self.vocab_size, self.shared_vocab = tokenizer, vocab_size, bool(shared_vocab)
        self.min_frequency, self.lowercase, self.max_length = min_frequency, bool(lowercase), max_length
        self.val_size, self.test_size = val_size, test_size

    # --- the cache -------------------------------------------------------------------------------------
    def _source_settings(self) -> dict:
        if self.source == "numbers":
            return {
                "min_number": self.min_number,
                "max_number": self.max_number,
                "num2words": numbers.num2words_version(),
            }
        files = []
        for path in input_files(self.source, self.data_dir, self.files, self.hf_name):
            stat = path.stat()
            files.append([str(path), stat.st_size, stat.st_mtime_ns])
        if self.source == "tsv":
            columns = [self.source_column, self.target_column]
            return {"files": files, "split_files": self.files, "columns": columns}
        return {"files": files, "name": self.hf_name, "config": self.hf_config, "splits": self.hf_splits}

    def cache_settings(self) -> dict:
        """The inputs (files: names, sizes, mtimes; numbers: range and num2words' version) and every setting
        that changes the cached arrays."""
        return {
            "version": CACHE_VERSION,
            "tokenizers": tokenizers.__version__,
            "source": self.source,
            "data_dir": str(self.data_dir),
            "langs": [self.source_lang, self.target_lang],
            "input": self._source_settings(),
            "tokenizer": self.tokenizer_kind,
            "vocab_size": self.vocab_size,
            "shared_vocab": self.shared_vocab,
            "min_frequency": self.min_frequency,
            "lowercase": self.lowercase,
            "max_length": self.max_length,
            "val_size": self.val_size,
            "test_size": self.test_size,
            "seed": self.seed,
        }

    def _read_splits(self) -> dict[str, list[Pair]]:
        langs = (self.source_lang, self.target_lang)
        if self.source == "numbers":
            sizes = (self.val_size, self.test_size, self.seed)
            return numbers.number_splits(self.min_number, self.max_number, *sizes, *langs)
        if self.source == "tsv":
            splits = load_tsv(self.data_dir, self.files, self.source_column, self.target_column)
            where = str(self.data_dir / self.files["train"])
        else:
            splits = load_hf(self.data_dir, self.hf_name, self.hf_config, self.hf_splits, *langs)
            where = f"{self.hf_name} {self.hf_splits['train']!r}"
        sizes = {"val": self.val_size, "test": self.test_size}
        return hold_out(splits, sizes, self.seed, where)

    def _train_tokenizers(self, train: list[Pair]) -> tuple[Tokenizer, Tokenizer]:
        settings = (self.tokenizer_kind, self.vocab_size, self.min_frequency, self.lowercase)
        sources, targets = [s for s, _ in train], [t for _, t in train]
        if self.shared_vocab:
            shared = build_tokenizer(sources + targets, *settings)
            return shared, shared
        return build_tokenizer(sources, *settings), build_tokenizer(targets, *settings)

    def tokenize(self) -> TokenizedCorpus:
        with logged_phase(f"reading the {self.source_lang} -> {self.target_lang} pairs ({self.source})", log):
            splits = self._read_splits()
        with logged_phase(f"building the vocabularies of {len(splits['train'])} training pairs", log):
            source_tok, target_tok = self._train_tokenizers(splits["train"])
        arrays, cut = {}, {}
        for name in SPLIT_NAMES:
            pairs = splits[name]
            with logged_phase(f"tokenizing {len(pairs)} {name} pairs", log):
                source = encode(source_tok, [s for s, _ in pairs], None)
                target = encode(target_tok, [t for _, t in pairs], None)
            (pairs, source, target), cut[name] = _cut_long(name, pairs, source, target, self.max_length)
            arrays[name] = PairSplit.from_rows(source, target, pairs).arrays
        if cut["train"]:
            log.warning(
                "dropped %d of %d training pairs with a side longer than data.max_length=%d tokens",
                *(cut["train"], len(splits["train"]), self.max_length),
            )
        tokenizers = {"source_tokenizer": source_tok, "target_tokenizer": target_tok}
        label = f"{self.source_lang} -> {self.target_lang} pairs ({self.source})"
        return TokenizedCorpus(label, arrays, tokenizers, self._meta(arrays, tokenizers, cut))

    def _meta(self, arrays: dict, tokenizers: dict[str, Tokenizer], cut: dict[str, int]) -> dict:
        settings = ("vocab_size", "shared_vocab", "max_length", "val_size", "test_size", "seed")
        return {
            "source": self.source,
            "data_dir": str(self.data_dir),
            "langs": [self.source_lang, self.target_lang],
            "vocab_sizes": [tok.get_vocab_size() for tok in tokenizers.values()],
            "sizes": {name: len(split["source_offsets"]) - 1 for name, split in arrays.items()},
            "dropped_train_pairs": cut["train"],
            "truncated_pairs": {"val": cut["val"], "test": cut["test"]},
            "settings": {"tokenizer": self.tokenizer_kind, **{key: getattr(self, key) for key in settings}},
        }

    def _load(self, folder: Path) -> None:
        super()._load(folder)
        if self.dropped_train_pairs:
            log.info(
                "%d over-long training pairs were left out (%s)", self.dropped_train_pairs, folder / META
            )

    @property
    def dropped_train_pairs(self) -> int:
        """Training pairs with a side longer than max_length tokens, left out of the cache."""
        return self.meta.get("dropped_train_pairs", 0)

    @staticmethod
    def read_tokenizers(state: dict) -> dict[str, Tokenizer]:
        return dict(zip(TranslationDataModule.TOKENIZERS, tokenizers_from_state(state), strict=True))

    # --- tokens and texts ------------------------------------------------------------------------------
    @property
    def source_tokenizer(self) -> Tokenizer | None:
        return self.tokenizers.get("source_tokenizer")

    @property
    def target_tokenizer(self) -> Tokenizer | None:
        return self.tokenizers.get("target_tokenizer")

    @property
    def source_vocab_size(self) -> int:
        """The trained source vocabulary's size, special tokens included (at most `vocab_size`)."""
        return self._tokenizer("source_tokenizer").get_vocab_size()

    @property
    def target_vocab_size(self) -> int:
        return self._tokenizer("target_tokenizer").get_vocab_size()

    pad_id, unk_id, bos_id, eos_id = PAD_ID, UNK_ID, BOS_ID, EOS_ID

    def encode_source(self, texts: list[str]) -> list[list[int]]:
        """Subword ids of raw source sentences, exactly as in the cached splits (no BOS/EOS)."""
        return encode(self._tokenizer("source_tokenizer"), texts, self.max_length)

    def encode_target(self, texts: list[str]) -> list[list[int]]:
        """Subword ids of raw target sentences as in the cached splits, without BOS/EOS."""
        return encode(self._tokenizer("target_tokenizer"), texts, self.max_length)

    def decode_target(self, ids) -> list[str]:
        """The sentence of each row of target ids (lists or an (N, T) tensor); PAD/BOS/EOS dropped."""
        return decode(self._tokenizer("target_tokenizer"), ids)

    def source_tokens(self, ids) -> list[str]:
        return tokens(self._tokenizer("source_tokenizer"), ids)

    def target_tokens(self, ids) -> list[str]:
        return tokens(self._tokenizer("target_tokenizer"), ids)

    def val_pairs(self, k: int) -> list[tuple[str, str]]:
        """The raw `(source, target)` texts of the first `k` validation pairs, in `val_set` order."""
        if self.val_set is None:
            raise RuntimeError("TranslationDataModule.setup() must run before val_pairs()")
        return [self.val_set.texts(i) for i in range(min(k, len(self.val_set)))]
