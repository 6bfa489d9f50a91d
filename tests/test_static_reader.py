"""The static signature reader on a crafted package: re-exports, inheritance, annotations, defaults, and the
targets it leaves to the import (decorated, conditional, compiled, missing)."""

import importlib
import sys
import textwrap
from typing import Any

import pytest
from omegaconf import MISSING, OmegaConf

from flik_lab.utils.arguments import COUNT, POSITIVE, ArgumentError, Choice, OrNone, Range, at_least
from flik_lab.utils.config_schema import ConfigError, live_signature, schema_fields, validate_config
from flik_lab.utils.static_modules import Unreadable
from flik_lab.utils.static_signature import static_class_attribute, static_signature

PACKAGE = "flik_crafted_targets"  # unique: the reader caches what it found by module name
FILES = {
    "__init__.py": """
        from .models import Base as Renamed
        from flik_crafted_targets.models import *
    """,
    "models.py": '''
        import dataclasses
        from typing import Annotated, Literal, Optional, Union

        from flik_lab.utils.arguments import Count, Positive, Range, at_least, check_declared

        __all__ = ["Net", "Mode"]
        Mode = Literal["a", "b"]
        Small = Annotated[int, at_least(5)]


        class Base:
            data_kinds = ("x", "y")

            def __init__(self, width: Positive[int] = 8, *args, mode: Mode = "a", **kwargs):
                check_declared(Base.__init__, locals())


        class Net(Base):
            """No __init__ of its own: Base's."""

            data_kind = "x"


        class Left(Base):
            pass


        class Right(Base):
            def __init__(self, depth: "int" = 1):
                pass


        class Diamond(Left, Right):
            """MRO Diamond, Left, Right, Base: Right's __init__."""


        class Typed:
            def __init__(
                self,
                a: int,
                b: "Optional[float]" = None,
                c: int | None = 3,
                d: Union[int, str] = 1,
                e: Small = 5,
                f: list[int] = (),
                h: Count | None = None,
                i: Annotated[float, Range(0, "a number in (0, 1)", exclusive=True, below=1)] = 0.5,
                j: bool = True,
                k=None,
                m: int = None,
                n: Literal[1, 2] = 1,
            ):
                check_declared(Typed.__init__, locals())


        class Computed:
            def __init__(self, g: float = float("inf")):
                pass


        def build(x: Positive[float], /, y: str = "s", *, z: Optional[Mode] = None):
            check_declared(build, locals())


        @dataclasses.dataclass
        class Data:
            x: int = 1


        def keep(f):
            return f


        class Decorated:
            @keep
            def __init__(self, x: int = 1):
                pass


        if Base:
            Conditional = Typed
    ''',
    "never_imported.py": """
        from flik_crafted_targets.models import Count

        raise RuntimeError("the reader imported this module")


        class Quiet:
            def __init__(self, n: Count = 1):
                pass
    """,
}


@pytest.fixture(scope="module", autouse=True)
def crafted(tmp_path_factory):
    root = tmp_path_factory.mktemp("crafted")
    (root / PACKAGE).mkdir()
    for name, text in FILES.items():
        (root / PACKAGE / name).write_text(textwrap.dedent(text))
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield
    sys.path.remove(str(root))


def _fields(target: str) -> dict:
    return {f.name: (f.type, f.default, f.check) for f in schema_fields(static_signature(target))}


@pytest.mark.parametrize(
    "target",
    ["Renamed", "Net", "models.Net", "models.Diamond", "models.Typed", "models.build", "models.Left"],
)
def test_static_schema_is_the_imported_one(target):
    path = f"{PACKAGE}.{target}"
    module, name = path.rsplit(".", 1)
    static, live = static_signature(path), live_signature(getattr(importlib.import_module(module), name))
    assert schema_fields(static) == schema_fields(live)
    assert static.extra == live.extra


def test_a_class_without_init_takes_its_bases_along_the_mro():
    net = static_signature(f"{PACKAGE}.Net")  # through `from .models import *` and `__all__`
    assert net.extra and [p.name for p in net.parameters] == ["width", "mode"]
    assert _fields(f"{PACKAGE}.Renamed")["mode"] == (str, "a", Choice(("a", "b")))
    diamond = static_signature(f"{PACKAGE}.models.Diamond")
    assert not diamond.extra and [p.name for p in diamond.parameters] == ["depth"]


def test_annotations_defaults_and_declared_ranges():
    fields = _fields(f"{PACKAGE}.models.Typed")
    assert fields["a"] == (int, MISSING, None)
    assert fields["b"] == (float | None, None, None)
    assert fields["c"] == (int | None, 3, None)
    assert fields["d"] == (Any, 1, None)  # a union of two types: any value
    assert fields["e"] == (int, 5, at_least(5))
    assert fields["f"] == (Any, None, None)  # a default OmegaConf cannot hold
    assert fields["h"] == (int | None, None, OrNone(COUNT))
    assert fields["i"] == (float, 0.5, Range(0, "a number in (0, 1)", exclusive=True, below=1))
    assert fields["j"] == (bool, True, None) and fields["k"] == (Any, None, None)
    assert fields["m"] == (int | None, None, None)  # `x: int = None`
    assert fields["n"] == (int, 1, Choice((1, 2)))
    assert _fields(f"{PACKAGE}.models.Computed")["g"] == (Any, None, None)  # any value, not required
    build = _fields(f"{PACKAGE}.models.build")
    assert build["x"] == (float, MISSING, POSITIVE) and build["z"][2] == OrNone(Choice(("a", "b")))


def test_class_attributes_along_the_mro():
    assert static_class_attribute(f"{PACKAGE}.Net", "data_kind") == "x"
    assert static_class_attribute(f"{PACKAGE}.Net", "data_kinds") == ("x", "y")
    assert static_class_attribute(f"{PACKAGE}.models.Diamond", "data_kind") is None


@pytest.mark.parametrize(
    "target",
    [
        f"{PACKAGE}.models.Data",  # a dataclass: its __init__ is generated
        f"{PACKAGE}.models.Decorated",  # a decorator may change the signature
        f"{PACKAGE}.models.Conditional",  # bound under a condition
        f"{PACKAGE}.models.nope",
        f"{PACKAGE}.nope.Thing",
        "math.sqrt",  # compiled
        "no_such_package_at_all.Thing",
    ],
)
def test_what_the_source_cannot_tell_is_unreadable(target):
    with pytest.raises(Unreadable):
        static_signature(target)


def test_an_unreadable_target_is_imported_and_checked_all_the_same():
    cfg = OmegaConf.create({"x": {"_target_": f"{PACKAGE}.models.Data", "y": 1}})
    with pytest.raises(ConfigError, match=r"'x\.y'"):
        validate_config(cfg)
    validate_config(OmegaConf.create({"x": {"_target_": f"{PACKAGE}.models.Decorated", "x": 2}}))


def test_a_readable_target_is_checked_without_being_imported():
    good = OmegaConf.create({"q": {"_target_": f"{PACKAGE}.never_imported.Quiet", "n": 2}})
    validate_config(good)
    bad = OmegaConf.create({"q": {"_target_": f"{PACKAGE}.never_imported.Quiet", "n": 0}})
    with pytest.raises(
        ConfigError, match=r"invalid config value 'q\.n': n=0: expected an integer of 1 or more"
    ):
        validate_config(bad)
    assert f"{PACKAGE}.never_imported" not in sys.modules


def test_construction_checks_what_the_annotations_declare():
    models = importlib.import_module(f"{PACKAGE}.models")
    with pytest.raises(ArgumentError, match=r"e=4: expected an integer of 5 or more") as error:
        models.Typed(a=1, e=4)
    assert error.value.argument == "e"
    with pytest.raises(ArgumentError, match="mode='c': expected one of a, b"):
        models.Net(mode="c")
    with pytest.raises(ArgumentError, match="x=0: expected a positive number"):
        models.build(0)
    models.Typed(a=1, h=None, i=0.25)
