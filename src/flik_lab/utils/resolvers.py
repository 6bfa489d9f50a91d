"""OmegaConf resolvers of flik-lab's configs: the SLURM launcher's processes and GPUs per node, the epochs
of the networks a run fits before it trains."""

from collections.abc import Sequence

from omegaconf import DictConfig, OmegaConf

from flik_lab.utils.errors import InputError


def devices_per_node(devices: int | str | Sequence[int]) -> int:
    """How many devices `trainer.devices` names (a count, a list of indices or "0,1"); -1 / "auto" refused."""
    if isinstance(devices, str) and "," in devices:
        return len([index for index in devices.split(",") if index.strip()])
    if isinstance(devices, Sequence) and not isinstance(devices, str):
        return len(devices)
    if str(devices).strip().isdigit() and int(devices) > 0:
        return int(devices)
    raise InputError(
        f"trainer.devices={devices} does not say how many processes SLURM should start on each node: "
        "hydra/launcher=slurm needs a count, e.g. trainer.devices=8"
    )


def gpus_per_node(accelerator: str, devices: int | str | Sequence[int]) -> int:
    """GPUs to request on each node: one per device, none for `trainer.accelerator=cpu`."""
    count = devices_per_node(devices)
    return 0 if accelerator == "cpu" else count


def fit_epochs(epochs: int, *, _root_: DictConfig) -> int:
    """`epochs`, or fewer where `extras.fit_epochs` caps the epochs of the networks a run fits before it
    trains (digit readers, domain classifiers): `debug=tiny` sets 1."""
    cap = OmegaConf.select(_root_, "extras.fit_epochs", default=None)
    return epochs if cap is None else min(epochs, cap)


def register_resolvers() -> None:
    """Make `${flik_lab.devices_per_node:...}`, `${flik_lab.gpus_per_node:...}` and
    `${flik_lab.fit_epochs:...}` known to OmegaConf."""
    OmegaConf.register_new_resolver("flik_lab.devices_per_node", devices_per_node, replace=True)
    OmegaConf.register_new_resolver("flik_lab.gpus_per_node", gpus_per_node, replace=True)
    OmegaConf.register_new_resolver("flik_lab.fit_epochs", fit_epochs, replace=True)
