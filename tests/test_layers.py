"""Imports go one way: a module imports its own package and the layers below it, never beside or above."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "flik_lab"
# flik_lab's packages and top-level modules, lowest first; names on one line may not import each other
LAYERS = [
    {"__init__", "assets", "utils"},  # helpers, the gates of the boundaries among them
    {"images"},  # the [-1, 1] convention, grids, GIFs, image files read within bounds
    {"data", "loggers", "models"},  # DataModules, loggers and networks know nothing of each other
    {"metrics"},  # FID in the feature space of the shipped MNIST classifier (a model)
    {"latent"},  # GAN checkpoints, latent paths and concept vectors
    {"plots"},  # figures: attention heatmaps, a latent-arithmetic result
    {"callbacks"},  # what a Trainer runs besides the model: sample grids, heatmaps, checkpoints
    {"run_summary"},  # the end of a training run in a few lines
    {"training"},  # `train(cfg)`: builds the data, model, callbacks and loggers and fits
    {"commands"},  # one module per `flik-lab` command
    {"cli", "train"},  # the console script; `python -m flik_lab.train`
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def _part(module: str) -> str:
    """The package or top-level module of `flik_lab.<part>...`; `__init__` for `flik_lab` itself."""
    return module.split(".")[1] if "." in module else "__init__"


def _module(path: Path) -> str:
    return ".".join(("flik_lab", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")


def _imports(path: Path, module: str) -> set[str]:
    """The flik_lab modules that `path` (module `module`) imports, also inside functions and relatively."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            parts = module.split(".")
            keep = len(parts) - node.level + (path.name == "__init__.py") if node.level else 0
            base = ".".join(parts[:keep] + ([node.module] if node.module else []))
            found |= {f"{base}.{alias.name}" for alias in node.names} if base == "flik_lab" else {base}
    return {name for name in found if name == "flik_lab" or name.startswith("flik_lab.")}


MODULES = {_module(path): path for path in sorted(SRC.rglob("*.py"))}


def test_every_package_has_a_layer():
    missing = sorted({_part(module) for module in MODULES} - LAYER.keys())
    assert not missing, f"add {missing} to LAYERS in tests/test_layers.py, where they sit in the order"


def test_imports_go_down_the_layers():
    wrong = []
    for module, path in MODULES.items():
        importer = _part(module)
        if importer not in LAYER:  # test_every_package_has_a_layer names it
            continue
        for imported in sorted(_imports(path, module)):
            target = _part(imported)
            if target != importer and LAYER.get(target, len(LAYERS)) >= LAYER[importer]:
                wrong.append(f"{module} imports {imported}: {target} is not below {importer}")
    assert not wrong, "\n".join(wrong)


def test_imports_inside_functions_and_relative_ones_are_read(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(
        "import os\n\ndef f():\n    from flik_lab.training import train\n    from . import checkpoint\n"
    )
    assert _imports(path, "flik_lab.utils.bad") == {"flik_lab.training", "flik_lab.utils"}
