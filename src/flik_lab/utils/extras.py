"""Optional dependencies: the extra of flik-lab that installs each, and the one line when one is missing."""

import importlib.util

from flik_lab.utils.errors import InputError

# the modules of pyproject.toml's optional dependencies -> the extra that installs them
EXTRAS = {
    "optuna": "tune",
    "submitit": "slurm",
    "hydra_plugins.hydra_submitit_launcher": "slurm",
    "tensorboard": "tensorboard",
}
PACKAGES = {"hydra_plugins.hydra_submitit_launcher": "hydra-submitit-launcher"}  # where not the module's name
# Hydra's configs that only a plugin of an extra provides -> that plugin
PLUGIN_CONFIGS = {
    "hydra/launcher/submitit_slurm": "hydra_plugins.hydra_submitit_launcher",
    "hydra/launcher/submitit_local": "hydra_plugins.hydra_submitit_launcher",
}


class MissingExtraError(InputError):
    """An optional dependency that is not installed, named with the extra that installs it."""

    def __init__(self, module: str, needed_by: str = ""):
        extra, package = EXTRAS[module], PACKAGES.get(module, module)
        what = f"{needed_by} needs {package}, which is" if needed_by else f"{package} is"
        super().__init__(f"{what} not installed: pip install 'flik-lab[{extra}]' (flik-lab's {extra} extra)")
        self.module, self.extra = module, extra


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def require(module: str, needed_by: str) -> None:
    """Raise `MissingExtraError` when `module` (a key of `EXTRAS`) cannot be imported."""
    if not installed(module):
        raise MissingExtraError(module, needed_by)


def missing_extra(exc: BaseException) -> MissingExtraError | None:
    """The `MissingExtraError` behind `exc`: an optional module that failed to import, or a Hydra config
    that only its plugin provides; None for any other error."""
    if isinstance(exc, ModuleNotFoundError) and exc.name in EXTRAS:
        return MissingExtraError(exc.name)
    config = getattr(exc, "missing_cfg_file", None)  # Hydra's MissingConfigException
    if config in PLUGIN_CONFIGS and not installed(PLUGIN_CONFIGS[config]):
        return MissingExtraError(
            PLUGIN_CONFIGS[config], "the submitit launchers (hydra/launcher=slurm, local_submitit)"
        )
    return None
