"""`data=mnist`: the full MNIST (60k train / 10k test) read by torchvision from its on-disk layout."""

from pathlib import Path

from torch.utils.data import TensorDataset
from torchvision.datasets import MNIST

from flik_lab.data.image_tensors import ImageTensorDataModule, seeded_split
from flik_lab.data.splits import held_out
from flik_lab.images import to_unit_range
from flik_lab.utils.errors import InputError

RAW_FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


class MNISTDataModule(ImageTensorDataModule):
    """Validation is held out of the train split by seed; the test split is only used for test."""

    image_kind = "mnist"  # what `latent arithmetic` labels: digits 0-9

    def __init__(
        self,
        data_dir: str,
        batch_size: int = 64,
        eval_batch_size: int = 1000,
        val_size: float = 5000,
        download: bool = True,
        seed: int = 0,
        on_device: bool = True,
    ):
        super().__init__(batch_size, eval_batch_size, seed, on_device)
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.val_size = val_size
        self.download = download

    def _missing(self) -> list[Path]:
        raw = self.data_dir / "MNIST" / "raw"
        return [raw / name for name in RAW_FILES if not (raw / name).is_file()]

    def prepare_data(self) -> None:
        if not self._missing():
            return
        error = None
        if self.download:
            try:
                MNIST(self.data_dir, train=True, download=True)
                MNIST(self.data_dir, train=False, download=True)
                return
            except Exception as exc:  # torchvision tries every mirror, then raises
                error = exc
        missing = "\n  ".join(str(p) for p in self._missing())
        reason = f"downloading failed ({error})" if error else "download=false"
        raise FileNotFoundError(
            f"MNIST is not under data_dir={self.data_dir} and {reason}. Missing:\n  {missing}\n"
            "Put torchvision's uncompressed MNIST/raw/*-ubyte files there (or allow the download), "
            "or use the 5,000 digits shipped with flik-lab offline: data=mnist5k"
        ) from error

    def load_splits(self) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
        self.prepare_data()  # also checks the files when prepare_data ran on another node
        train = MNIST(self.data_dir, train=True, download=False)
        test = MNIST(self.data_dir, train=False, download=False)
        val_size = held_out(self.val_size, len(train.data), "data.val_size", "MNIST training images")
        n_train = len(train.data) - val_size
        if n_train < self.batch_size:
            raise InputError(f"val_size={self.val_size} leaves {n_train} MNIST training images")
        images = to_unit_range(train.data)
        train_idx, val_idx = seeded_split(len(images), [n_train, val_size], self.seed)
        return (
            TensorDataset(images[train_idx], train.targets[train_idx]),
            TensorDataset(images[val_idx], train.targets[val_idx]),
            TensorDataset(to_unit_range(test.data), test.targets),
        )
