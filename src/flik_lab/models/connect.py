"""The one way a model or callback gets at its data: the DataModule, checked against its kind's contract."""

import inspect
from typing import TypeVar

import lightning as L

from flik_lab.models.contracts import DATA_CONTRACTS
from flik_lab.utils.errors import InputError

Contract = TypeVar("Contract")
_NONE = object()


class DataContractError(InputError):
    """A DataModule that lacks what a model or callback reads of its kind of data."""


def checked_data(datamodule: object, contract: type[Contract], user: str) -> Contract:
    """`datamodule` if it offers all of `contract`; else a DataContractError naming `user` and the gap."""
    if isinstance(datamodule, contract):
        return datamodule
    missing = [
        name for name in _members(contract) if inspect.getattr_static(datamodule, name, _NONE) is _NONE
    ]
    raise DataContractError(
        f"{user} needs data that offers {contract.__name__} (models/contracts.py); "
        f"{type(datamodule).__name__} lacks {', '.join(missing) or 'part of it'}"
    )


def _members(contract: type) -> list[str]:
    """The names a Protocol declares: its annotated attributes and its methods."""
    methods = [name for name, value in vars(contract).items() if callable(value) and not name.startswith("_")]
    return [*getattr(contract, "__annotations__", {}), *methods]


def connect(model: L.LightningModule, datamodule: L.LightningDataModule) -> None:
    """Check `datamodule` against the contract of `model`'s `data_kind` and hand it to `model.use_data`
    (a model without `use_data` reads nothing of its data but batches)."""
    contract = DATA_CONTRACTS.get(getattr(model, "data_kind", None))
    if contract is None:
        return
    data = checked_data(datamodule, contract, type(model).__name__)
    if hasattr(model, "use_data"):
        model.use_data(data)


def trainer_data(trainer: L.Trainer, contract: type[Contract], user: object) -> Contract:
    """A callback's data: `trainer.datamodule` checked against `contract`."""
    return checked_data(getattr(trainer, "datamodule", None), contract, type(user).__name__)
