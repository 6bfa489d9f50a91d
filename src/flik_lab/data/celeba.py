"""`data=celeba`: CelebA aligned faces through torchvision, center-cropped to 64x64, attributes kept."""

from pathlib import Path

import lightning as L
from torch.utils.data import DataLoader
from torchvision import transforms
from torchvision.datasets import CelebA
from torchvision.datasets.utils import check_integrity

from flik_lab.data.epoch_batches import batch_loader, epoch_batches
from flik_lab.data.sharding import per_rank_batch_size, rank_batches, world_and_rank
from flik_lab.utils.errors import InputError

ANNOTATIONS = {name: md5 for _, md5, name in CelebA.file_list if name.endswith(".txt")}


class _CelebAWithoutMD5(CelebA):
    """torchvision's CelebA, trusting files it has been told are complete (tiny test trees)."""

    def _check_integrity(self) -> bool:
        return True


def check_celeba_tree(root: Path, verify_md5: bool) -> None:
    """Raise an error naming the first missing, HTML-instead-of-data, or corrupt CelebA file."""
    folder = root / "celeba"
    hint = (
        f"CelebA must be laid out as torchvision expects: {folder}/img_align_celeba/*.jpg and the "
        f"five annotation files {sorted(ANNOTATIONS)} in {folder}"
    )
    images = folder / "img_align_celeba"
    if not images.is_dir():
        zipped = folder / "img_align_celeba.zip"
        extra = f" ({zipped} exists: extract it)" if zipped.exists() else ""
        raise FileNotFoundError(f"missing image folder {images}{extra}. {hint}")
    if next(images.glob("*.jpg"), None) is None:
        raise FileNotFoundError(f"no .jpg images in {images}. {hint}")
    for name, md5 in ANNOTATIONS.items():
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"missing annotation file {path}. {hint}")
        head = path.read_bytes()[:512].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html")):
            raise InputError(
                f"{path} is an HTML page, not CelebA annotations: Google Drive's download quota page "
                "was saved in place of the file. Download it again later or from a mirror."
            )
        if verify_md5 and not check_integrity(str(path), md5):
            raise InputError(f"{path} does not have the expected MD5 {md5}: partial or corrupt download")


class CelebADataModule(L.LightningDataModule):
    """Batches of `(image (N, 3, 64, 64) in [-1, 1], attributes (N, 40) in {0, 1})`."""

    data_kinds = ("images", "attributes")  # the `data_kind`s of the models it can feed

    image_kind = "celeba"  # what `latent arithmetic` labels: the 40 attributes

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 128,
        eval_batch_size: int = 256,
        image_size: int = 64,
        num_workers: int = 4,
        download: bool = False,
        verify_md5: bool = True,
        seed: int = 0,
    ):
        super().__init__()
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size
        self.num_workers = num_workers
        self.download, self.verify_md5 = download, verify_md5
        self.seed = seed
        self.transform = transforms.Compose(
            [
                transforms.Resize(image_size),
                transforms.CenterCrop(image_size),
                transforms.ToTensor(),
                transforms.Normalize([0.5] * 3, [0.5] * 3),
            ]
        )
        self.splits: dict[str, CelebA] = {}
        self._tree_checked = False

    @property
    def attr_names(self) -> list[str]:
        return self.splits["train"].attr_names

    def state_dict(self) -> dict:
        """Saved in checkpoints: the attribute names, in the order of the label vectors."""
        return {"attr_names": list(self.attr_names)} if self.splits else {}

    @staticmethod
    def checked_state(state: dict) -> dict:
        """What a checkpoint may hold as this DataModule's state (the checkpoint reader's check)."""
        names = state.get("attr_names")
        if not (isinstance(names, list) and 0 < len(names) <= 1000):
            raise InputError(f"attr_names: expected a list of attribute names, got {type(names).__name__}")
        if not all(isinstance(name, str) and 0 < len(name) <= 100 for name in names):
            raise InputError("attr_names: expected attribute names (strings of 1 to 100 characters)")
        return {"attr_names": names}

    def _check_tree(self) -> None:
        """`check_celeba_tree` once per DataModule: the MD5s read every annotation file."""
        if not self._tree_checked:
            check_celeba_tree(self.data_dir, self.verify_md5)
            self._tree_checked = True

    def prepare_data(self) -> None:
        if self.download:
            CelebA(self.data_dir, split="all", download=True)
        self._check_tree()

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        self._check_tree()  # also when prepare_data ran in another process
        dataset = CelebA if self.verify_md5 else _CelebAWithoutMD5
        for split in ("train", "valid", "test"):
            self.splits[split] = dataset(
                self.data_dir, split=split, target_type="attr", transform=self.transform
            )

    def _loader(self, split: str, batch_size: int, shuffle: bool) -> DataLoader:
        world, _ = world_and_rank(self.trainer)
        if world > 1 and shuffle:  # the configured batch size is global; each rank takes its share
            batch_size = per_rank_batch_size(batch_size, world)
        dataset = self.splits[split]
        batches = epoch_batches(len(dataset), batch_size, shuffle, drop_last=shuffle, seed=self.seed)
        return batch_loader(
            dataset, rank_batches(batches, self.trainer, split=not shuffle), self.num_workers, self.seed
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("valid", self.eval_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", self.eval_batch_size, shuffle=False)
