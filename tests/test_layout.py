"""The tree shows the architecture, and the imports obey it (docs/architecture.md):
each part imports only from the parts below it, at module level and inside functions
alike. Type-only references (under ``if TYPE_CHECKING:``) may name any part."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sandlot"

# Lowest first. A module may import from its own part and from the parts before it.
LAYERS = [
    "sandlot.errors",
    "sandlot.registry",
    "sandlot.tools",
    "sandlot.retrieval",
    "sandlot.environments",
    "sandlot.traces",
    "sandlot.agents.models",
    "sandlot.agents.graph",
    "sandlot.agents.running",
    "sandlot.agents.after",
    "sandlot.testing",
    "sandlot.cli",  # and the package's own __init__ and console: the top
]


def _layer(module: str) -> int:
    if module in ("sandlot", "sandlot.console", "sandlot.cli"):
        return len(LAYERS) - 1
    found = [
        i for i, prefix in enumerate(LAYERS) if module == prefix or module.startswith(prefix + ".")
    ]
    assert found, f"{module} belongs to no layer; add it to LAYERS and docs/architecture.md"
    return max(found)


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_only(tree: ast.AST) -> set[int]:
    """Line numbers of imports inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, ast.Import | ast.ImportFrom):
                        lines.add(sub.lineno)
    return lines


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_only(tree)
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return [(line, m) for line, m in out if m == "sandlot" or m.startswith("sandlot.")]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_a_module_imports_only_from_its_own_part_and_below(path):
    here = _module(path)
    upward = [
        f"line {line}: {target}"
        for line, target in _imports(path)
        if target != "sandlot" and _layer(target) > _layer(here)
    ]
    assert not upward, f"{here} imports from a part above it: {upward}"


def test_the_agent_package_is_split_by_what_happens_when():
    agents = PACKAGE / "agents"
    modules = {p.name for p in agents.glob("*.py")}
    assert modules == {"__init__.py"}, f"loose modules in sandlot/agents: {sorted(modules)}"
    assert {p.name for p in agents.iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "models",
        "graph",
        "running",
        "after",
    }
