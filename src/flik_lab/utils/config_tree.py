"""The resolved config as a tree, for the run's log file at the start of a run."""

import io

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.tree import Tree

FIRST = ("data", "model", "callbacks", "logger", "trainer", "paths")  # the rest follows in config order


def config_tree(cfg: DictConfig, width: int = 110) -> str:
    """Plain text of a rich tree: one branch per top-level key, its resolved YAML inside."""
    tree = Tree("config", guide_style="dim")
    keys = [k for k in FIRST if k in cfg] + [k for k in cfg if k not in FIRST]
    for key in keys:
        node = cfg[key]
        text = OmegaConf.to_yaml(node, resolve=True) if isinstance(node, DictConfig) else str(node)
        tree.add(key).add(Syntax(text.rstrip(), "yaml", theme="ansi_dark", background_color="default"))
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(tree)
    return console.export_text()
