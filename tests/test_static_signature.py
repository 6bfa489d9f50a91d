"""The signatures read from source agree with `inspect.signature` for every `_target_` flik-lab ships."""

import inspect
import typing
from collections.abc import Iterator
from importlib import resources

import pytest
import yaml
from hydra.utils import get_object

from flik_lab.utils.arguments import declared_check
from flik_lab.utils.conf import CONF_MODULE
from flik_lab.utils.config_schema import live_signature, schema_fields
from flik_lab.utils.static_signature import static_class_attribute, static_signature

pytestmark = pytest.mark.slow  # imports every target, Lightning and torch included


def _yaml_files(folder) -> Iterator:
    for entry in folder.iterdir():
        if entry.name == "hydra":  # Hydra's own settings (launchers): never part of a job's config
            continue
        if entry.is_dir():
            yield from _yaml_files(entry)
        elif entry.name.endswith(".yaml"):
            yield entry


def _targets(node) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("_target_"), str):
            yield node["_target_"]
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            yield from _targets(child)


SHIPPED = sorted(
    {
        t
        for path in _yaml_files(resources.files(CONF_MODULE))
        for t in _targets(yaml.safe_load(path.read_text()))
    }
)


def test_the_shipped_targets_are_found():
    assert {"flik_lab.models.gan.GAN", "lightning.pytorch.Trainer", "torch.optim.Adam"} <= set(SHIPPED)


@pytest.mark.parametrize("target", SHIPPED)
def test_static_schema_is_the_imported_one(target):
    static, live = static_signature(target), live_signature(get_object(target))
    assert schema_fields(static) == schema_fields(live)
    assert static.extra == live.extra


@pytest.mark.parametrize("target", [t for t in SHIPPED if t.startswith(("flik_lab.models", "flik_lab.data"))])
def test_static_data_kinds_are_the_imported_ones(target):
    obj = get_object(target)
    if isinstance(obj, type):
        for name in ("data_kind", "data_kinds"):
            assert static_class_attribute(target, name) == getattr(obj, name, None)


@pytest.mark.parametrize("target", [t for t in SHIPPED if t.startswith("flik_lab.")])
def test_declared_ranges_are_also_checked_at_construction(target):
    obj = get_object(target)
    init = obj.__init__ if isinstance(obj, type) else obj
    own = getattr(init, "__module__", "").startswith("flik_lab.")  # not Lightning's, nor object's
    hints = typing.get_type_hints(init, include_extras=True) if own else {}
    if any(declared_check(hint) for hint in hints.values()):
        assert "check_declared(" in inspect.getsource(init), f"{target} declares ranges it never checks"
