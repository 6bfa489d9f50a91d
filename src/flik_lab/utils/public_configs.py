"""Configs named `_...` are the bases of others (`experiment=_imdb`): they compose when named, but no listing
offers them: not `--help`, shell completion, a config-not-found message nor a `glob(*)` sweep."""

from hydra._internal.core_plugins.importlib_resources_config_source import ImportlibResourcesConfigSource
from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.object_type import ObjectType
from hydra.core.plugins import Plugins
from hydra.plugins.search_path_plugin import SearchPathPlugin

from flik_lab.utils.conf import CONF_MODULE, CONF_PATH

SCHEME = "flik-lab-pkg"


class PublicConfigs(ImportlibResourcesConfigSource):
    """Hydra's `pkg://` config source, listing no config or group whose name starts with `_`."""

    @staticmethod
    def scheme() -> str:
        return SCHEME

    def list(self, config_path: str, results_filter: ObjectType | None) -> list[str]:
        return [name for name in super().list(config_path, results_filter) if not name.startswith("_")]


class PublicConfigsSearchPath(SearchPathPlugin):
    """Reads flik-lab's config package (`pkg://flik_lab.conf`, from `hydra.main`) through `PublicConfigs`."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        for element in search_path.get_path():
            if element.path == CONF_PATH:
                element.path = f"{SCHEME}://{CONF_MODULE}"


def register_public_configs() -> None:
    """Make Hydra read flik-lab's configs through `PublicConfigs` from now on, in this process."""
    Plugins.instance().register(PublicConfigs)
    Plugins.instance().register(PublicConfigsSearchPath)
