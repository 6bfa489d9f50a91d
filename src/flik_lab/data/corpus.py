"""A text corpus tokenized once into a cache folder named by its settings, loaded, batched by length."""

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

import lightning as L
import numpy as np
from tokenizers import Tokenizer
from torch.utils.data import DataLoader, Dataset

from flik_lab.data.atomic_files import write_atomic
from flik_lab.data.epoch_batches import batch_loader
from flik_lab.data.length_buckets import BucketBatchSampler
from flik_lab.data.sharding import per_rank_batch_size, rank_batches, world_and_rank
from flik_lab.utils.arguments import at_least
from flik_lab.utils.errors import InputError

if TYPE_CHECKING:
    from flik_lab.utils.checkpoint import Checkpoint

log = logging.getLogger(__name__)

META = "meta.json"  # written last: its presence marks a complete cache folder
SPLIT_NAMES = ("train", "val", "test")
Index = Annotated[int, at_least(0)]  # a column, a number, a worker count


@dataclasses.dataclass
class TokenizedCorpus:
    """What a build writes: each split's arrays, the trained tokenizers, the meta and other files; `label`
    names the corpus in the log."""

    label: str
    splits: dict[str, dict[str, np.ndarray]]
    tokenizers: dict[str, Tokenizer]
    meta: dict
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)


class TokenizedCorpusDataModule(L.LightningDataModule):
    """Builds `<data_dir>/cache/<CACHE_NAME>-<hash of cache_settings()>` once (each file atomic, the meta
    last), loads it, and serves length-bucketed batches. Its tokenizers are its checkpoint state: one that
    differs from the built ones is refused, at once or, when read before `setup`, as soon as they are loaded.

    A subclass gives its settings (`cache_settings`), its build (`tokenize`), its split type and collate.
    """

    CACHE_NAME: ClassVar[str]
    TOKENIZERS: ClassVar[tuple[str, ...]]  # the state keys and file stems of its tokenizers
    split_type: ClassVar[type[Dataset]]
    collate: ClassVar[Any]

    def __init__(
        self,
        data_dir: str,
        batch_size: int,
        eval_batch_size: int,
        bucketing: bool,
        bucket_factor: int,
        num_workers: int,
        seed: int,
    ):
        super().__init__()
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.batch_size, self.eval_batch_size, self.seed = batch_size, eval_batch_size, seed
        self.bucketing, self.bucket_factor, self.num_workers = bool(bucketing), bucket_factor, num_workers
        self.tokenizers: dict[str, Tokenizer] = {}
        self.train_set = self.val_set = self.test_set = None
        self.cache_folder: Path | None = None
        self.meta: dict = {}
        self._expected_state: dict | None = None  # a checkpoint's tokenizers, checked once they exist

    # --- what a subclass gives -----------------------------------------------------------------------
    def cache_settings(self) -> dict:
        """Every input and setting that changes the cached arrays."""
        raise NotImplementedError

    def tokenize(self) -> TokenizedCorpus:
        """Read the corpus, train the tokenizers on its train split and encode every split."""
        raise NotImplementedError

    @staticmethod
    def read_tokenizers(state: dict) -> dict[str, Tokenizer]:
        """The tokenizers of a saved state, refused unless flik-lab could have written them."""
        raise NotImplementedError

    # --- the cache ---------------------------------------------------------------------------------------
    def cache_key(self) -> str:
        return hashlib.sha256(json.dumps(self.cache_settings(), sort_keys=True).encode()).hexdigest()[:16]

    def cache_dir(self) -> Path:
        return self.data_dir / "cache" / f"{self.CACHE_NAME}-{self.cache_key()}"

    def prepare_data(self) -> None:
        if not (self.cache_dir() / META).is_file():
            self._build()

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        folder = self.cache_dir()
        if not (folder / META).is_file():  # prepare_data was skipped or ran on another node
            folder = self._build()
        self._load(folder)

    def _build(self) -> Path:
        corpus = self.tokenize()
        folder = self.cache_dir()  # after reading: the hub's files only exist once downloaded
        folder.mkdir(parents=True, exist_ok=True)
        for name, arrays in corpus.splits.items():
            write_atomic(folder / f"{name}.npz", lambda f, arrays=arrays: np.savez(f, **arrays))
        texts = {f"{key}.json": tok.to_str().encode() for key, tok in corpus.tokenizers.items()}
        for name, content in {**texts, **corpus.files}.items():
            write_atomic(folder / name, lambda f, content=content: f.write(content))
        write_atomic(folder / META, lambda f: f.write(json.dumps(corpus.meta, indent=1).encode()))
        log.info("tokenized %s into %s", corpus.label, folder)
        return folder

    def _load(self, folder: Path) -> None:
        self.tokenizers = {key: Tokenizer.from_file(str(folder / f"{key}.json")) for key in self.TOKENIZERS}
        if self._expected_state is not None:  # a checkpoint was loaded before setup: refuse before any batch
            self.load_state_dict(self._expected_state)
        splits = []
        for name in SPLIT_NAMES:
            with np.load(folder / f"{name}.npz") as arrays:
                splits.append(self.split_type(**{key: arrays[key] for key in arrays.files}))
        self.train_set, self.val_set, self.test_set = splits
        self.meta = json.loads((folder / META).read_text())
        self.cache_folder = folder

    def _tokenizer(self, key: str) -> Tokenizer:
        if key not in self.tokenizers:
            raise RuntimeError(f"{type(self).__name__}.setup() must run before the tokenizers are used")
        return self.tokenizers[key]

    # --- checkpoints -------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Saved in every checkpoint, so the commands tokenize exactly as training did."""
        return {key: tok.to_str() for key, tok in self.tokenizers.items()}

    @classmethod
    def checked_state(cls, state: dict) -> dict:
        """What a checkpoint may hold as this DataModule's state (the checkpoint reader's check)."""
        cls.read_tokenizers(state)
        return {key: state[key] for key in cls.TOKENIZERS}

    def load_state_dict(self, state_dict: dict) -> None:
        """Refuse a checkpoint whose tokenizers differ from the ones this configuration builds."""
        if not self.tokenizers:
            self._expected_state = dict(state_dict)  # checked by setup()
            return
        for key, tok in self.tokenizers.items():
            saved = state_dict.get(key)
            if saved is not None and saved != tok.to_str():
                raise InputError(
                    f"the checkpoint's {key.replace('_', ' ')} differs from the one built from this data "
                    "configuration (vocabulary, tokenizer settings or data changed): token ids would not "
                    "match the embeddings"
                )

    @classmethod
    def from_checkpoint(cls, ckpt: "Checkpoint", trusted: Iterable[str] = ()) -> Self:
        """The DataModule a checkpoint was trained with: its stored settings and saved tokenizers, no data
        read (what the commands encode and decode with)."""
        from flik_lab.utils.checkpoint import CheckpointError
        from flik_lab.utils.instantiate import instantiate_node

        tokenizers = cls.read_tokenizers(ckpt.data_state(cls))
        node = ckpt.data_config(trusted, data_dir=".")  # nothing is read: no data folder is needed
        try:
            datamodule = instantiate_node(node, "data")
        except InputError as exc:
            raise CheckpointError(f"{ckpt.source}: the stored data config cannot be built: {exc}") from None
        if not isinstance(datamodule, cls):
            raise CheckpointError(f"{ckpt.source} holds a {type(datamodule).__name__}, not a {cls.__name__}")
        datamodule.tokenizers = tokenizers
        return datamodule

    # --- loaders -----------------------------------------------------------------------------------------
    def _loader(self, split: Dataset, batch_size: int, shuffle: bool) -> DataLoader:
        world, _ = world_and_rank(self.trainer)
        if world > 1 and shuffle:  # the configured batch size is global; each rank takes its share
            batch_size = per_rank_batch_size(batch_size, world)
        batches = BucketBatchSampler(
            split.lengths,
            batch_size,
            shuffle=shuffle,
            bucketing=self.bucketing,
            bucket_factor=self.bucket_factor,
            seed=self.seed,
        )
        sampler = rank_batches(batches, self.trainer, split=not shuffle)
        return batch_loader(split, sampler, self.num_workers, self.seed, collate_fn=type(self).collate)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.eval_batch_size, shuffle=False)
