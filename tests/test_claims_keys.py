"""Statically: every result a claims rule reads is recorded by the chapter notebook it names.

A claim needs ``(chapter, key)`` pairs; the closing chapter finds them only if
``book/<chapter>.ipynb`` calls ``record_result("<chapter>", "<key>", ...)``.  A renamed key would
otherwise show up only in the full book build, as a claim "not measured".  The keys are read from
the notebooks' code without running them: string literals, f-strings and names bound by ``for``
loops over literal tuples (``for name in ("none", "loo"): record_result(ch, f"elbo_{name}", ...)``).
"""

from __future__ import annotations

import ast
import itertools
import json
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from rlvae_tutorial.claims import CLAIMS

ROOT = Path(__file__).resolve().parents[1]


def _loop_bindings(node: ast.For) -> list[dict[str, str]]:
    """``for a, b in (("x", v), ("y", w))`` -> [{"a": "x"}, {"a": "y"}] (string constants only)."""
    if not isinstance(node.iter, (ast.Tuple, ast.List)):
        return [{}]
    targets = node.target.elts if isinstance(node.target, ast.Tuple) else [node.target]
    out = []
    for item in node.iter.elts:
        values = item.elts if isinstance(item, ast.Tuple) else [item]
        out.append({t.id: v.value for t, v in zip(targets, values, strict=False)
                    if isinstance(t, ast.Name) and isinstance(v, ast.Constant) and isinstance(v.value, str)})
    return out


def _key(node: ast.expr, env: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [_key(v.value if isinstance(v, ast.FormattedValue) else v, env) for v in node.values]
        return None if None in parts else "".join(parts)
    return None


def _recorded(tree: ast.AST, loops: tuple[list[dict[str, str]], ...] = ()) -> set[tuple[str, str]]:
    """(chapter, key) of every ``record_result`` call, expanding enclosing literal for-loops."""
    found: set[tuple[str, str]] = set()
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.For):
            inner = (*loops, _loop_bindings(child))
            for part in child.body + child.orelse:
                found |= _recorded(ast.Module(body=[part], type_ignores=[]), inner)
            continue
        if isinstance(child, ast.Call) and getattr(child.func, "id", getattr(child.func, "attr", None)) == "record_result":
            for combo in itertools.product(*loops):
                env = {k: v for binding in combo for k, v in binding.items()}
                chapter, key = (_key(a, env) for a in child.args[:2]) if len(child.args) >= 2 else (None, None)
                if chapter is not None and key is not None:
                    found.add((chapter, key))
        found |= _recorded(child, loops)
    return found


def recorded_keys(chapter: str) -> set[str]:
    """The keys ``book/<chapter>.ipynb`` records for ``chapter``."""
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    keys: set[str] = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = TransformerManager().transform_cell("".join(cell["source"]))  # %magics -> Python
        keys |= {k for ch, k in _recorded(ast.parse(source)) if ch == chapter}
    return keys


def test_the_parser_expands_loops_and_f_strings() -> None:
    source = ('record_result("c", "plain", 1)\n'
              'for label, r in (("a", x), ("b", y)):\n'
              '    for m in ("p", "q"):\n'
              '        record_result("c", f"{m}_{label}", r)\n'
              'for key, value in [("k1", 1), ("k2", 2)]:\n'
              '    record_result("c", key, value)\n'
              'record_result("other", "no", 1)\n')
    assert _recorded(ast.parse(source)) == {("c", "plain"), ("c", "p_a"), ("c", "q_a"), ("c", "p_b"),
                                            ("c", "q_b"), ("c", "k1"), ("c", "k2"), ("other", "no")}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.name)
def test_every_key_a_claim_needs_is_recorded_by_its_chapter(claim) -> None:  # noqa: ANN001
    for chapter, key in claim.needs + claim.optional:
        path = ROOT / "book" / f"{chapter}.ipynb"
        assert path.exists(), f"claim {claim.name!r} reads chapter {chapter!r}, but {path} does not exist"
        keys = recorded_keys(chapter)
        assert key in keys, (f"claim {claim.name!r} reads {chapter}/{key}, which book/{chapter}.ipynb never "
                             f"records; it records: {sorted(keys)}")
