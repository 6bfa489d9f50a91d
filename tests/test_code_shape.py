"""Code a newcomer can hold: no function in src/flik_lab longer than a screen."""

import ast
from pathlib import Path

import flik_lab

MAX_LINES = 50  # from `def` to the function's last line, docstring and decorators' arguments included
# still longer, each to be split; the list only shrinks
LONG_FUNCTIONS = {
    "models/seq2seq/decoding.py::beam_search",
}


def function_lengths(root: Path) -> dict[str, int]:
    """`<file>::<function>` -> its lines, for every function and method of the package below `root`."""
    lengths = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{path.relative_to(root).as_posix()}::{node.name}"
                lengths[name] = max(lengths.get(name, 0), node.end_lineno - node.lineno + 1)
    return lengths


def test_no_function_is_longer_than_fifty_lines():
    lengths = function_lengths(Path(flik_lab.__file__).parent)
    long = {name: n for name, n in lengths.items() if n > MAX_LINES and name not in LONG_FUNCTIONS}
    assert not long, f"split these functions ({MAX_LINES} lines at most): {long}"


def test_the_allow_list_names_only_functions_that_are_still_long():
    lengths = function_lengths(Path(flik_lab.__file__).parent)
    assert {name for name in LONG_FUNCTIONS if lengths.get(name, 0) <= MAX_LINES} == set()
