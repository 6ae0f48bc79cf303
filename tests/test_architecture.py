"""The size rules of docs/architecture.md, checked on the source (issue 10).

No module in ``core/`` over 600 lines and no function over 100 lines: a module that
grows past them is split along its seams, not allowed to become the next god module.
"""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core"
MODULE_MAX, FUNCTION_MAX = 600, 100


def _modules():
    return sorted(p for p in CORE.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_over_the_limit():
    assert _modules(), f"no module found under {CORE}"
    big = {str(p.relative_to(CORE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MODULE_MAX}
    assert big == {}, f"modules over {MODULE_MAX} lines: {big}"


def test_no_function_over_the_limit():
    long = {}
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > FUNCTION_MAX:
                    long[f"{p.relative_to(CORE)}:{node.name}"] = n
    assert long == {}, f"functions over {FUNCTION_MAX} lines: {long}"
