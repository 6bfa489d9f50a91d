"""Latent-arithmetic expressions such as `7 - 1 + 0` or `Smiling + Male - Male + ~Male`."""

import ast
from dataclasses import dataclass

from flik_lab.utils.errors import InputError


@dataclass(frozen=True)
class Term:
    """`sign * concept`; `concept` is a digit ("7"), an attribute ("Smiling") or its absence ("~Smiling")."""

    sign: int
    concept: str


def parse_expression(expr: str, aliases: dict[str, str] | None = None) -> list[Term]:
    """Terms of a sum of concepts joined by `+` / `-`; raises ValueError naming what did not parse."""
    aliases = aliases or {}
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError as exc:
        raise InputError(f"expr={expr!r} does not parse: {exc.msg}. Expected e.g. '7 - 1 + 0'") from exc

    def terms(node: ast.AST, sign: int) -> list[Term]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
            right = -sign if isinstance(node.op, ast.Sub) else sign
            return terms(node.left, sign) + terms(node.right, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return terms(node.operand, -sign)
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.Invert)
            and isinstance(node.operand, ast.Name)
        ):
            return [Term(sign, "~" + node.operand.id)]
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            return [Term(sign, str(node.value))]
        if isinstance(node, ast.Name):
            name = aliases.get(node.id, node.id)
            return [Term(sign, name)]
        raise InputError(
            f"expr={expr!r}: cannot use {ast.unparse(node)!r}; expected concepts (a digit, an attribute "
            "name or ~attribute) joined by + and -"
        )

    return terms(tree, 1)
