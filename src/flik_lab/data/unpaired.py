"""`data=unpaired_*`: two unpaired image domains A and B for CycleGAN-style translation.

Sources: `digits` (offline: the shipped MNIST 5k digits <-> digits typeset from matplotlib's fonts, labels
kept for evaluation only), `image_folders` (the CycleGAN datasets' `trainA/ trainB/ testA/ testB/` layout) and
`celeba` (CelebA split by one attribute: with <-> without). Batches are dicts
`{"a", "b": (N, C, H, W) in [-1, 1], "label_a", "label_b": (N,) int64, -1 without labels}`; evaluation batches
add `"valid_a"`, `"valid_b"`: bool masks of the real rows (the shorter domain's rows cycle to fill a batch).

The digits live in memory as tensors (one gather per batch, on the GPU when training on one). Folders and
CelebA are read lazily, one file per image, in DataLoader workers: they may not fit in memory.
"""

import difflib
import hashlib
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import lightning as L
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision import transforms
from torchvision.datasets import CelebA
from torchvision.datasets.folder import IMG_EXTENSIONS

from flik_lab.data.celeba import _CelebAWithoutMD5, check_celeba_tree
from flik_lab.data.epoch_batches import batch_loader, loader_generator
from flik_lab.data.mnist5k import MNIST5kDataModule
from flik_lab.data.sharding import per_rank_batch_size, rank_batches, world_and_rank
from flik_lab.data.splits import held_out
from flik_lab.data.typeset_digits import font_indices, render_typeset_digits
from flik_lab.images import read_image, to_unit_range
from flik_lab.utils.arguments import ArgumentError, Positive, Range, at_least, check_declared, require_choice
from flik_lab.utils.errors import InputError
from flik_lab.utils.progress_log import logged_phase

log = logging.getLogger(__name__)

Source = Literal["digits", "image_folders", "celeba"]
SUBFOLDERS = ("trainA", "trainB", "testA", "testB")
SPLITS = ("train", "val", "test")
# past what CycleGANs are trained at; bounds what a checkpoint can ask for
IMAGE_SIZE = Range(1, "an integer from 1 to 1024 (pixels a side)", integer=True, maximum=1024)
MAX_IMAGE_SIZE = IMAGE_SIZE.maximum
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
)
ATTRIBUTE_DOMAINS = {"Male": ("male", "female"), "Young": ("young", "old")}  # nicer than "with Male"


# --- the two domains of one split -----------------------------------------------------------------------
class TensorDomain:
    """Images `(N, C, H, W)` in [-1, 1] and labels `(N,)` held in memory."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def get(self, index) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def to(self, device: torch.device) -> "TensorDomain":
        return TensorDomain(self.images.to(device), self.labels.to(device))


class FileDomain:
    """Image files read one at a time: `(C, H, W)` in [-1, 1] through `transform`, label -1."""

    def __init__(self, files: list[Path], transform):
        self.files, self.transform = files, transform

    def __len__(self) -> int:
        return len(self.files)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.files[index]
        return self.transform(read_image(path, "RGB", key="image")), torch.tensor(-1)


class CelebADomain:
    """The images of one CelebA split with (or without) an attribute, read lazily by torchvision."""

    def __init__(self, dataset: CelebA, indices: torch.Tensor):
        self.dataset, self.indices = dataset, indices

    def __len__(self) -> int:
        return len(self.indices)

    def get(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.dataset[int(self.indices[index])][0], torch.tensor(-1)


class PairedRows(Dataset):
    """Rows `(i_a, i_b[, valid_a, valid_b])` of two domains -> one batch dict.

    `gather=True` (tensor domains): the sampler hands a whole batch of rows, indexed at once. Otherwise one
    row per item, stacked by the DataLoader's default collate (file domains, in workers).
    """

    def __init__(self, a, b, gather: bool):
        self.a, self.b, self.gather = a, b, gather

    def __getitem__(self, rows) -> dict[str, torch.Tensor]:
        if self.gather:  # a batch of rows: one (N, 2 or 4) index tensor
            rows = torch.as_tensor(rows, dtype=torch.long, device=self.a.images.device)
            columns = rows.unbind(1)
        else:  # one row
            columns = [torch.tensor(value) for value in rows]
        image_a, label_a = self.a.get(columns[0] if self.gather else int(rows[0]))
        image_b, label_b = self.b.get(columns[1] if self.gather else int(rows[1]))
        batch = {"a": image_a, "b": image_b, "label_a": label_a, "label_b": label_b}
        if len(columns) == 4:  # evaluation rows carry (valid_a, valid_b)
            batch["valid_a"], batch["valid_b"] = columns[2].bool(), columns[3].bool()
        return batch


class UnpairedBatches(Sampler[list[tuple]]):
    """Batches of rows over two domains of sizes `n_a`, `n_b`: `max(n_a, n_b)` rows an epoch.

    Training (`shuffle`): each domain in its own order of `(seed, epoch)`; the shorter one continues with a
    fresh order when it runs out; incomplete batches dropped. Evaluation: both in file order, the shorter
    one starting over, each row flagged `(valid_a, valid_b)` so that each image counts exactly once.
    """

    def __init__(self, n_a: int, n_b: int, batch_size: int, shuffle: bool, seed: int = 0):
        self.n_a, self.n_b, self.batch_size, self.shuffle, self.seed = n_a, n_b, batch_size, shuffle, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rows(self) -> int:
        n = max(self.n_a, self.n_b)
        return n // self.batch_size * self.batch_size if self.shuffle else n

    def __len__(self) -> int:
        return math.ceil(self._rows() / self.batch_size)

    def _order(self, n_domain: int, stream: int) -> np.ndarray:
        rows = self._rows()
        if not self.shuffle:
            return np.arange(rows) % n_domain
        rng = np.random.default_rng([self.seed, self.epoch, stream])
        return np.concatenate([rng.permutation(n_domain) for _ in range(math.ceil(rows / n_domain))])[:rows]

    def __iter__(self) -> Iterator[list[tuple]]:
        a, b = self._order(self.n_a, 0), self._order(self.n_b, 1)
        if self.shuffle:
            rows = list(zip(a.tolist(), b.tolist(), strict=True))
        else:
            i = np.arange(len(a))
            rows = list(
                zip(a.tolist(), b.tolist(), (i < self.n_a).tolist(), (i < self.n_b).tolist(), strict=True)
            )
        for start in range(0, len(rows), self.batch_size):
            yield rows[start : start + self.batch_size]


# --- reading the sources ---------------------------------------------------------------------------------
def image_files(folder: Path) -> list[Path]:
    """The image files of one CycleGAN sub-folder, sorted; errors name a missing, empty or broken one."""
    layout = f"expected the CycleGAN layout {folder.parent}/{{{','.join(SUBFOLDERS)}}}/*.jpg"
    if not folder.is_dir():
        raise FileNotFoundError(f"missing image folder {folder}: {layout}")
    files = sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMG_EXTENSIONS
    )
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(IMG_EXTENSIONS[:3])}, ...) in {folder}: {layout}")
    for path in files:  # headers only: a download error page saved as .jpg fails here, not mid-epoch
        try:
            with Image.open(path):
                pass
        except (UnidentifiedImageError, OSError) as err:
            raise InputError(f"{path} is not an image ({err}); remove it or download it again") from err
    return files


def celeba_attribute_error(attribute: str) -> ArgumentError:
    close = difflib.get_close_matches(attribute, CELEBA_ATTRIBUTES, n=3, cutoff=0.5)
    close += [a for a in CELEBA_ATTRIBUTES if attribute.lower() in a.lower() and a not in close]
    hint = f"did you mean {', '.join(close[:3])}?" if close else f"the 40 are: {', '.join(CELEBA_ATTRIBUTES)}"
    return ArgumentError("attribute", attribute, f"one of the 40 CelebA attributes ({hint})")


def resize_and_crop(load_size: int, image_size: int) -> transforms.Compose:
    """An image's shorter side resized to `load_size`, centre-cropped to `image_size`, in [-1, 1]."""
    return transforms.Compose(
        [
            transforms.Resize(load_size),
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),
            transforms.Normalize([0.5] * 3, [0.5] * 3),
        ]
    )


class UnpairedImageDataModule(L.LightningDataModule):
    """Two unpaired domains A and B (see the module docstring); `source` picks where they come from."""

    data_kinds = ("unpaired_images",)  # the `data_kind`s of the models it can feed

    def __init__(
        self,
        source: Source = "digits",
        data_dir: str = "data",
        folder: str = "horse2zebra",
        attribute: str = "Eyeglasses",
        image_size: Annotated[int, IMAGE_SIZE] = 64,
        load_size: int | None = None,
        val_size: float = 0.1,
        test_size: float = 0.1,
        batch_size: Positive[int] = 16,
        eval_batch_size: Positive[int] = 250,
        num_workers: Annotated[int, at_least(0)] = 0,
        verify_md5: bool = True,
        download: bool = False,
        on_device: bool = True,
        seed: int = 0,
        fonts: list[str] | None = None,
    ):
        check_declared(UnpairedImageDataModule.__init__, locals())
        super().__init__()
        font_indices(fonts)  # digits only: refuses an unknown font file by name
        load_size = image_size if load_size is None else load_size
        if load_size < image_size:
            raise ArgumentError(
                "load_size", load_size, f"at least image_size={image_size} (resize, then crop)"
            )
        if source == "celeba" and attribute not in CELEBA_ATTRIBUTES:
            raise celeba_attribute_error(attribute)
        self.source, self.data_dir = source, Path(data_dir).expanduser().resolve()
        self.folder, self.attribute = folder, attribute
        self.load_size, self.val_size, self.test_size = load_size, val_size, test_size
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers, self.verify_md5, self.download = num_workers, verify_md5, download
        self.on_device, self.seed = on_device, seed
        self.fonts = None if fonts is None else list(fonts)
        self.channels, self.image_size = (1, 28) if source == "digits" else (3, image_size)
        self.has_labels = source == "digits"
        self.domain_names = self._domain_names()
        self.transform = resize_and_crop(load_size, image_size)
        self.splits: dict[str, tuple] = {}  # split -> (domain A, domain B)

    def _domain_names(self) -> tuple[str, str]:
        if self.source == "digits":
            return "handwritten", "typeset"
        if self.source == "celeba":
            words = self.attribute.replace("_", " ")
            return ATTRIBUTE_DOMAINS.get(self.attribute, (f"with {words}", f"without {words}"))
        name_a, _, name_b = self.folder.partition("2")  # horse2zebra -> horse, zebra
        return (name_a, name_b) if name_a and name_b else (f"{self.folder} A", f"{self.folder} B")

    # --- the cache ---------------------------------------------------------------------------------------
    def _settings(self) -> dict:
        settings = {"source": self.source, "seed": self.seed}
        if self.source == "digits":
            settings |= {"val_size": self.val_size, "test_size": self.test_size}
            if self.fonts is not None:  # absent for all fonts, so the caches of earlier runs stay valid
                settings["fonts"] = self.fonts
        elif self.source == "image_folders":
            settings |= {
                "folder": self.folder,
                "image_size": self.image_size,
                "load_size": self.load_size,
                "val_size": self.val_size,
            }
        else:
            settings |= {
                "attribute": self.attribute,
                "image_size": self.image_size,
                "load_size": self.load_size,
            }
        return settings

    def cache_dir(self) -> Path:
        """`<data_dir>/cache/unpaired-<hash of the source and the settings that change the images>/`."""
        key = hashlib.sha256(json.dumps(self._settings(), sort_keys=True).encode()).hexdigest()[:16]
        folder = self.data_dir / "cache" / f"unpaired-{key}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- loading -----------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        if self.source == "celeba":
            if self.download:
                CelebA(self.data_dir, split="all", download=True)
            check_celeba_tree(self.data_dir, self.verify_md5)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        load = {"digits": self._load_digits, "image_folders": self._load_folders, "celeba": self._load_celeba}
        self.splits = load[self.source]()
        for split, (a, b) in self.splits.items():
            for name, domain in (("A", a), ("B", b)):
                if len(domain) == 0:
                    raise InputError(f"the {split} split of domain {name} ({self._where()}) holds no images")
        if max(len(d) for d in self.splits["train"]) < self.batch_size:
            raise ArgumentError("batch_size", self.batch_size, "at most the larger domain's training images")
        device = self.trainer.strategy.root_device if self.trainer is not None else None
        if self.source == "digits" and self.on_device and device is not None and device.type != "cpu":
            self.splits = {s: (a.to(device), b.to(device)) for s, (a, b) in self.splits.items()}

    def _where(self) -> str:
        if self.source == "image_folders":
            return str(self.data_dir / self.folder)
        return f"CelebA attribute {self.attribute}" if self.source == "celeba" else "digits"

    def _load_digits(self) -> dict[str, tuple]:
        """A: the shipped digits, split as `data=mnist5k` splits them; B: as many typeset digits of each class
        per split, in their own seeded order (B's i-th image is not A's i-th digit)."""
        mnist = MNIST5kDataModule(
            self.batch_size, val_size=self.val_size, test_size=self.test_size, seed=self.seed
        )
        splits = {}
        with logged_phase("rendering the typeset digits of domain B", log):
            for index, (split, subset) in enumerate(zip(SPLITS, mnist.load_splits(), strict=True)):
                images, labels = subset.tensors
                rng = np.random.default_rng([self.seed, index, 0xB])
                labels_b = torch.from_numpy(rng.permutation(labels.numpy()))
                typeset = render_typeset_digits(
                    labels_b.numpy(), size=28, seed=self.seed * 3 + index, fonts=self.fonts
                )
                b = TensorDomain(to_unit_range(torch.from_numpy(typeset)), labels_b)
                splits[split] = (TensorDomain(images, labels), b)
        return splits

    def _load_folders(self) -> dict[str, tuple]:
        """train/test from the sub-folders; validation held out of each train domain by seed (`val_size`)."""
        root = self.data_dir / self.folder
        if not root.is_dir():
            raise FileNotFoundError(
                f"missing image folder {root} (data.folder={self.folder} under data.data_dir): expected the "
                f"CycleGAN layout {root}/{{{','.join(SUBFOLDERS)}}}/*.jpg"
            )
        files = {name: image_files(root / name) for name in SUBFOLDERS}
        splits = {"train": [], "val": []}
        for stream, domain in enumerate("AB"):
            train = files[f"train{domain}"]
            n_val = held_out(
                self.val_size, len(train), "data.val_size", f"images in {root / f'train{domain}'}"
            )
            order = np.random.default_rng([self.seed, stream]).permutation(len(train))
            val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
            splits["train"].append(FileDomain([train[i] for i in train_idx], self.transform))
            splits["val"].append(FileDomain([train[i] for i in val_idx], self.transform))
        splits["test"] = [FileDomain(files[f"test{d}"], self.transform) for d in "AB"]
        return {split: tuple(domains) for split, domains in splits.items()}

    def _load_celeba(self) -> dict[str, tuple]:
        """CelebA's own train/valid/test partition; A: images with the attribute, B: without."""
        check_celeba_tree(self.data_dir, self.verify_md5)
        dataset = CelebA if self.verify_md5 else _CelebAWithoutMD5
        splits = {}
        for split, celeba_split in zip(SPLITS, ("train", "valid", "test"), strict=True):
            data = dataset(self.data_dir, split=celeba_split, target_type="attr", transform=self.transform)
            if self.attribute not in data.attr_names:
                raise celeba_attribute_error(self.attribute)
            has = data.attr[:, data.attr_names.index(self.attribute)].bool()
            splits[split] = (
                CelebADomain(data, has.nonzero().flatten()),
                CelebADomain(data, (~has).nonzero().flatten()),
            )
        return splits

    # --- what the model and callbacks ask for ------------------------------------------------------------
    def _domain(self, split: str, domain: str):
        require_choice("domain", domain, ("a", "b"))
        self.setup()
        return self.splits[split][0 if domain == "a" else 1]

    def _stack(self, domain, count: int) -> torch.Tensor:
        if isinstance(domain, TensorDomain):
            return domain.images[:count]
        return torch.stack([domain.get(i)[0] for i in range(count)])

    def train_images(self, domain: str, limit: int | None = None) -> torch.Tensor:
        """All training images of domain `"a"` or `"b"` (for fitting the domain classifier); with `limit`,
        the first `limit` of a seeded order (folders and CelebA are read from disk: pass one for CelebA)."""
        source = self._domain("train", domain)
        if limit is None or limit >= len(source):
            return self._stack(source, len(source))
        order = np.random.default_rng([self.seed, 0x7C]).permutation(len(source))[:limit]
        return torch.stack([source.get(int(i))[0] for i in order])

    def labelled_train_images(self, domain: str) -> tuple[torch.Tensor, torch.Tensor]:
        """All training images of `domain` and their labels (for CycleGAN's semantic consistency)."""
        source = self._domain("train", domain)
        if not self.has_labels:
            raise ArgumentError("data.source", self.source, "digits: the only source with labels")
        return source.images, source.labels

    def fixed_test_images(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The first `k` test images of each domain (fewer where a domain has fewer): the per-epoch grid."""
        a, b = self._domain("test", "a"), self._domain("test", "b")
        return self._stack(a, min(k, len(a))), self._stack(b, min(k, len(b)))

    # --- loaders -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Saved in every checkpoint: the image format and domain names `stylize` needs."""
        return {
            "channels": self.channels,
            "image_size": self.image_size,
            "domain_names": list(self.domain_names),
        }

    @staticmethod
    def checked_state(state: dict) -> dict:
        """What a checkpoint may hold as this DataModule's state (the checkpoint reader's check)."""
        channels, size, names = (state.get(key) for key in ("channels", "image_size", "domain_names"))
        if channels not in (1, 3) or isinstance(channels, bool):
            raise InputError(f"channels = {channels!r}: expected 1 (grey) or 3 (RGB)")
        if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= MAX_IMAGE_SIZE:
            raise InputError(f"image_size = {size!r}: expected an integer from 8 to {MAX_IMAGE_SIZE}")
        if not (isinstance(names, list) and len(names) == 2 and all(isinstance(n, str) for n in names)):
            raise InputError(f"domain_names = {names!r}: expected the names of domains A and B")
        return {"channels": channels, "image_size": size, "domain_names": names}

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        world, _ = world_and_rank(self.trainer)
        if shuffle:  # the configured batch size is global; each rank takes its share
            batch_size = per_rank_batch_size(batch_size, world)
        a, b = self.splits[split]
        batches = UnpairedBatches(len(a), len(b), batch_size, shuffle, self.seed)
        sampler = rank_batches(batches, self.trainer, split=not shuffle)
        gather = isinstance(a, TensorDomain)
        dataset = PairedRows(a, b, gather)
        if gather:  # one tensor gather per batch, no collate
            return DataLoader(
                dataset, sampler=sampler, batch_size=None, generator=loader_generator(self.seed)
            )
        return batch_loader(dataset, sampler, self.num_workers, self.seed)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)
