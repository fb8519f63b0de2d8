"""Find SQL built by string formatting in a source tree (used by test_security.py).

    python tests/reliability/sql_scan.py DIR   ->  JSON list of [file, line, source]

Two nets: (1) an f-string / `%` / `.format()` / `+` as the first argument of execute(),
executemany(), executescript(), exec_driver_sql() or text(); (2) any such formatting whose
literal text looks like SQL (SELECT ... FROM, INSERT INTO, UPDATE .. SET, DELETE FROM,
PRAGMA, CREATE/DROP/ALTER, BEGIN IMMEDIATE), wherever it is (SQL kept in a variable).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

SQL_CALLS = {"execute", "executemany", "executescript", "exec_driver_sql", "text"}
SQL_SHAPE = re.compile(
    r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA\s+\w+|"
    r"(CREATE|DROP)\s+(TABLE|INDEX|TRIGGER|VIEW)|ALTER\s+TABLE|BEGIN\s+(IMMEDIATE|EXCLUSIVE))",
    re.IGNORECASE | re.DOTALL,
)


def formatted(node: ast.AST) -> bool:
    """An f-string with values, `"..." % x`, `"...".format(...)` or `"..." + x`."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return any(
            isinstance(side, ast.JoinedStr)
            or (isinstance(side, ast.Constant) and isinstance(side.value, str))
            for side in (node.left, node.right)
        )
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def literal_text(node: ast.AST) -> str:
    return " ".join(
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


def scan(root: Path) -> list[tuple[str, int, str]]:
    sites = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in SQL_CALLS and node.args and formatted(node.args[0]):
                    arg = node.args[0]
                    sites.add((rel, node.lineno, ast.get_source_segment(source, arg)))
            if formatted(node) and SQL_SHAPE.search(literal_text(node)):
                sites.add((rel, node.lineno, ast.get_source_segment(source, node)))
    return sorted(sites)


if __name__ == "__main__":
    print(json.dumps(scan(Path(sys.argv[1]))))
