"""Task files the loader used to accept or crash on: deep nesting, non-finite numbers,
answer checks that can never fail, and checklists with no required item."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandlot.environments.loader import TaskFileError, load_task_file, load_tasks


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def _error(path: Path) -> TaskFileError:
    with pytest.raises(TaskFileError) as caught:
        load_tasks([path])
    return caught.value


def _task(item: str, *, ok: str = "{id: ok, check: {type: called, tool: get_order}}") -> str:
    return f"""
environment: store
tasks:
  - id: t1
    instruction: Look up order 1001.
    reference:
      calls: [{{tool: get_order, args: {{order_id: 1001}}}}]
      answer: Order 1001 is pending.
    checklist:
      - {ok}
      - {item}
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.yaml", "[" * 100_000 + "]" * 100_000),
        ("deep2.yaml", "a: " + "{b: " * 5_000 + "1" + "}" * 5_000),
        ("deep3.yaml", "- " * 100_000 + "1"),
        # Deep enough for libyaml's composer to crash the interpreter if it were reached.
        ("deep4.yaml", "[" * 200_000 + "]" * 200_000),
        ("deep5.json", '{"a": ' * 100_000 + "1" + "}" * 100_000),
    ],
)
def test_deeply_nested_files_are_a_load_error_naming_the_file(tmp_path, name, text):
    path = _write(tmp_path, name, text)
    err = _error(path)
    assert str(err).startswith(str(path)) and "nested too deeply" in str(err)
    assert err.problems == ["the file is nested too deeply to load; flatten its lists and mappings"]
    with pytest.raises(TaskFileError, match="nested too deeply"):
        load_task_file(path)


@pytest.mark.parametrize(
    ("item", "field", "needle"),
    [
        ("{id: d, weight: .inf, check: {type: answer, value: pending}}", "weight", "finite"),
        ("{id: d, weight: .nan, check: {type: answer, value: pending}}", "weight", "finite"),
        (
            "{id: d, check: {type: answer, match: number, value: 1001, tolerance: .nan}}",
            "check.tolerance",
            "finite",
        ),
        (
            "{id: d, check: {type: state, query: 'SELECT 1', equals: 1, tolerance: .inf}}",
            "check.tolerance",
            "finite",
        ),
        ("{id: d, check: {type: answer, match: number, value: .nan}}", "check.value", "finite"),
        ("{id: d, check: {type: answer, value: ''}}", "check.value", "always passes"),
        ("{id: d, check: {type: answer, value: ['']}}", "check.value", "always passes"),
        ("{id: d, check: {type: answer, value: [pending, '']}}", "check.value", "always passes"),
        ("{id: d, check: {type: answer, value: null}}", "check.value", "null"),
        ("{id: d, check: {type: answer, value: [null]}}", "check.value", "null"),
        ("{id: d, check: {type: answer, match: regex, value: ''}}", "check.value", "always passes"),
        ("{id: d, check: {type: answer, match: regex, value: '.*'}}", "check.value", "always"),
        (
            "{id: d, check: {type: answer, match: not_contains, value: ''}}",
            "check.value",
            "always fails",
        ),
    ],
)
def test_non_finite_numbers_and_checks_that_cannot_fail_are_field_errors(
    tmp_path, item, field, needle
):
    path = _write(tmp_path, "t.yaml", _task(item))
    err = _error(path)
    assert f"task 't1', field checklist[1].{field}: " in str(err), str(err)
    assert needle in str(err), str(err)


def test_nan_in_a_json_task_is_refused(tmp_path):
    path = _write(
        tmp_path,
        "t.json",
        '[{"id": "j", "environment": "store", "instruction": "x", "checklist": '
        '[{"id": "a", "weight": NaN, "check": {"type": "answer", "value": "x"}}]}]',
    )
    assert "checklist[0].weight" in str(_error(path))


@pytest.mark.parametrize(
    "item",
    [
        "{id: d, check: {type: answer, match: regex, value: '^Order 1001'}}",
        "{id: d, check: {type: answer, match: regex, value: 'pending[.]$|^$'}}",
        "{id: d, check: {type: answer, value: [pending, order]}}",
        "{id: d, check: {type: answer, match: number, value: 1001}}",
    ],
)
def test_checks_that_can_fail_still_load(tmp_path, item):
    assert len(load_task_file(_write(tmp_path, "t.yaml", _task(item)))) == 1


def test_a_checklist_without_a_required_item_is_an_error(tmp_path):
    text = _task(
        "{id: d, required: false, check: {type: answer, value: pending}}",
        ok="{id: ok, required: false, check: {type: called, tool: get_order}}",
    )
    err = _error(_write(tmp_path, "t.yaml", text))
    assert "task 't1', field checklist: " in str(err) and "no checklist item is required" in str(
        err
    )
    # One required item is enough.
    text = _task("{id: d, required: false, check: {type: answer, value: pending}}")
    assert len(load_task_file(_write(tmp_path, "u.yaml", text))) == 1
