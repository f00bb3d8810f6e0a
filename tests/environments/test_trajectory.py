"""The agent protocol's constants (``SUBMIT_TOOL``, ``STEP_FAILED``) are defined once, in
sandlot.environments.trajectory: no other module spells them out."""

from __future__ import annotations

import ast
from pathlib import Path

import sandlot
from sandlot.environments.trajectory import STEP_FAILED, SUBMIT_TOOL

PACKAGE = Path(sandlot.__file__).parent
HOME = PACKAGE / "environments" / "trajectory.py"


def test_no_module_but_the_trajectory_spells_a_protocol_constant():
    spelled = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == HOME:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in (SUBMIT_TOOL, STEP_FAILED):
                spelled.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}")
    assert spelled == []
