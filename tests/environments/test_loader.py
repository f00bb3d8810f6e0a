"""Task files load with defaults merged, and every mistake gets an error that names the
file, the task (by id, or by index without one) and the field, with what was wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandlot.environments.loader import TaskFileError, load_task_file, load_tasks

GOOD = """
environment: store
defaults: {max_tool_calls: 7, tags: [lookup]}
tasks:
  - id: a
    instruction: Look up order 1001.
    reference: {calls: [{tool: get_order, args: {order_id: 1001}}], answer: pending}
    checklist:
      - {id: x, check: {type: called, tool: get_order}}
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _error(path: Path, **kwargs) -> TaskFileError:
    with pytest.raises(TaskFileError) as caught:
        load_tasks([path], **kwargs)
    return caught.value


def _task_yaml(checklist: str = "", *, extra: str = "", env: str = "store") -> str:
    """One store task named t1 whose reference answer is 'Order 1001 is pending.'"""
    return f"""
environment: {env}
tasks:
  - id: t1
    instruction: Look up order 1001.
    reference:
      calls: [{{tool: get_order, args: {{order_id: 1001}}}}]
      answer: Order 1001 is pending.
{extra}    checklist:
      - {{id: ok, check: {{type: called, tool: get_order}}}}
{checklist}"""


# --- what loads ----------------------------------------------------------------------


def test_file_environment_and_defaults_apply_to_every_task_and_source_is_set(tmp_path):
    path = _write(tmp_path, "good.yaml", GOOD)
    [task] = load_tasks([path])
    assert (task.environment, task.max_tool_calls, task.tags) == ("store", 7, ["lookup"])
    assert task.source == str(path)


def test_a_task_key_replaces_the_default_value_entirely(tmp_path):
    text = GOOD.replace(
        "    instruction: Look", "    tags: [own]\n    max_tool_calls: 3\n    instruction: Look"
    )
    [task] = load_tasks([_write(tmp_path, "t.yaml", text)])
    assert task.tags == ["own"] and task.max_tool_calls == 3


def test_a_file_may_hold_one_task_or_a_list_and_json_works(tmp_path):
    one = _write(tmp_path, "one.yaml", "id: one\nenvironment: store\ninstruction: x\n")
    many = _write(
        tmp_path,
        "many.json",
        '[{"id": "m1", "environment": "store", "instruction": "x"},'
        ' {"id": "m2", "environment": "store", "instruction": "y"}]',
    )
    assert [t.id for t in load_task_file(one)] == ["one"]
    assert [t.id for t in load_task_file(many)] == ["m1", "m2"]


def test_a_directory_is_searched_recursively_in_sorted_order_and_other_files_ignored(tmp_path):
    _write(tmp_path, "b/z.yml", "id: z\nenvironment: store\ninstruction: x\n")
    _write(tmp_path, "a.yaml", "id: a\nenvironment: store\ninstruction: x\n")
    _write(tmp_path, "b/c.json", '{"id": "c", "environment": "store", "instruction": "x"}')
    _write(tmp_path, "notes.txt", "not a task")
    _write(tmp_path, ".github/workflows/ci.yml", "on: push")
    _write(tmp_path, "b/.#z.yml", "")
    tasks = load_tasks([tmp_path])
    assert [t.id for t in tasks] == ["a", "c", "z"]
    assert tasks[1].source == str(tmp_path / "b" / "c.json")


def test_a_file_reached_twice_is_loaded_once(tmp_path):
    path = _write(tmp_path, "good.yaml", GOOD)
    assert [t.id for t in load_tasks([path, tmp_path])] == ["a"]


def test_a_single_path_is_not_read_as_its_characters(tmp_path):
    _write(tmp_path, "good.yaml", GOOD)
    assert [t.id for t in load_tasks(str(tmp_path))] == ["a"]


def test_yaml_anchors_and_merge_keys_work(tmp_path):
    text = """
- &base {id: a, environment: store, instruction: x, max_tool_calls: 4}
- <<: *base
  id: b
"""
    tasks = load_tasks([_write(tmp_path, "t.yaml", text)])
    assert [(t.id, t.max_tool_calls) for t in tasks] == [("a", 4), ("b", 4)]


def _laughs(levels: int) -> str:
    """A "billion laughs" file: each level repeats the one before nine times."""
    lines = ["defaults:", "  metadata:", f"    l0: &l0 [{', '.join(['lol'] * 9)}]"]
    for n in range(1, levels):
        lines.append(f"    l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]")
    lines.append("tasks: [{id: a, environment: store, instruction: x}]")
    return "\n".join(lines) + "\n"


def test_a_file_whose_aliases_expand_past_the_bound_is_refused_unbuilt(tmp_path):
    path = _write(tmp_path, "laughs.yaml", _laughs(9))  # 9**9: 387 million values
    assert path.stat().st_size < 700
    with pytest.raises(TaskFileError, match="expands to more than 2,000,000 values"):
        load_tasks([path])
    small = load_tasks([_write(tmp_path, "few.yaml", _laughs(3))])  # 729 values: fine
    assert len(small[0].metadata["l2"]) == 9


def test_tasks_validate_refuses_a_billion_laughs_file(tmp_path):
    from typer.testing import CliRunner

    from sandlot.cli import app

    path = _write(tmp_path, "laughs.yaml", _laughs(9))
    result = CliRunner().invoke(app, ["tasks", "validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "expands to more than 2,000,000 values" in " ".join(result.output.split())


def test_a_file_past_the_size_bound_is_refused_unread(tmp_path, monkeypatch):
    import sandlot.environments.loader as loader

    path = _write(tmp_path, "big.yaml", GOOD)
    monkeypatch.setattr(loader, "MAX_TASK_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(TaskFileError, match="larger than"):
        load_tasks([path])


def test_every_shipped_example_task_loads():
    root = Path(__file__).resolve().parents[2] / "examples" / "tasks"
    tasks = load_tasks([root])
    assert len(tasks) >= 10 and all(t.source and t.checklist for t in tasks)


# --- one error lists every problem ---------------------------------------------------


def test_every_problem_of_a_file_is_listed_with_its_task_and_field(tmp_path):
    path = _write(
        tmp_path,
        "bad.yaml",
        """
environment: store
tasks:
  - id: one
    instruction: x
    checklist:
      - {id: a, check: {type: answer, match: fuzzy, value: 1}}
      - {id: b, weight: -1, check: {type: called, tool: get_order}}
      - {id: c, check: {type: nope}}
  - instruction: no id here
  - id: three
    environment: moon
    instruction: x
""",
    )
    err = _error(path)
    text = str(err)
    assert text.startswith(f"{path}: 5 problems:")
    assert "task 'one', field checklist[0].check.match: Input should be 'exact'" in text
    assert "(got 'fuzzy')" in text
    assert "task 'one', field checklist[1].weight: Input should be greater than" in text
    assert "task 'one', field checklist[2].check.type: unknown check type 'nope'" in text
    assert "task #2 (no id), field id: required field is missing" in text
    assert "task #2 (no id), field instruction" not in text  # it has one
    assert "task 'three', field environment: unknown environment 'moon'" in text
    assert len(err.problems) == 5
    assert (err.path, err.task_id, err.field) == (str(path), "one", "checklist[0].check.match")


def test_problems_of_several_files_are_reported_together(tmp_path):
    a = _write(tmp_path, "a.yaml", GOOD.replace("instruction: Look", "instructions: Look"))
    b = _write(tmp_path, "b.yaml", "")
    _write(tmp_path, "c.yaml", GOOD.replace("id: a", "id: c"))
    err = _error(tmp_path)
    assert [e.path for e in err.errors] == [str(a), str(b)]
    assert str(err).startswith("2 task files have problems:")
    assert f"{a}: task 'a', field instructions: unknown field" in "\n".join(err.problems)
    assert f"{b}: the file is empty" in err.problems[-1]


# --- each kind of mistake ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("e.yaml", "  \n", "the file is empty"),
        ("e.yaml", "tasks: [\n  - id: a\n  bad", "invalid YAML at line 2, column 3"),
        ("e.json", '{"id": "a",\n "environment": }', "invalid JSON at line 2, column 17"),
        (
            "e.yaml",
            "id: a\nenvironment: store\nid: b\ninstruction: x\n",
            "duplicate key 'id' (first at line 1)",
        ),
        ("e.json", '{"id": "a", "id": "b"}', "duplicate key 'id' in a JSON object"),
        ("e.yaml", "just a string", "expected a task (a mapping with 'id')"),
        ("e.yaml", "tasks: {id: a}", "'tasks' must be a list of tasks, got dict"),
        ("e.yaml", "defaults: [1]\ntasks: [{id: a}]", "'defaults' must be a mapping, got list"),
        ("e.yaml", "defaults: {id: x}\ntasks: [{id: a}]", "'defaults' may not set 'id'"),
        (
            "e.yaml",
            "envirnment: store\ntasks: [{id: a}]",
            "unknown top-level key(s) ['envirnment']",
        ),
        ("e.yaml", "tasks: []", "the file holds no tasks"),
        ("e.yaml", "- 3\n", "task #1 (no id): expected a mapping, got int"),
    ],
)
def test_file_level_mistakes_name_the_file_and_say_what_was_wrong(tmp_path, name, text, needle):
    path = _write(tmp_path, name, text)
    err = _error(path)
    assert needle in str(err) and str(err).startswith(str(path))


@pytest.mark.parametrize(
    ("item", "field", "needle"),
    [
        ("{id: d, check: {tool: get_order}}", "checklist[1].check.type", "the check has no type"),
        (
            "{id: d, check: {type: called, tool: get_order, min_time: 2}}",
            "checklist[1].check.min_time",
            "did you mean 'min_times'? allowed: type, tool, args",
        ),
        (
            "{id: ok, check: {type: called, tool: get_order}}",
            "checklist[1].id",
            "already used by checklist[0]",
        ),
        (
            "{id: d, check: {type: called, tool: get_ordr}}",
            "checklist[1].check.tool",
            "did you mean 'get_order'?",
        ),
        (
            "{id: d, check: {type: not_called, tool: nope}}",
            "checklist[1].check.tool",
            "no tool 'nope' in environment 'store'",
        ),
        (
            "{id: d, check: {type: order, tools: [get_order, nope]}}",
            "checklist[1].check.tools[1]",
            "tools: cancel_order",
        ),
        (
            "{id: d, check: {type: called, tool: submit_answer, min_times: 0}}",
            "checklist[1].check.tool",
            "use an answer check",
        ),
        (
            "{id: d, check: {type: answer, match: regex, value: '('}}",
            "checklist[1].check.value",
            "invalid regular expression",
        ),
        (
            "{id: d, check: {type: answer, match: number, value: lots}}",
            "checklist[1].check.value",
            "needs a numeric value",
        ),
        (
            "{id: d, check: {type: answer, match: exact, value: [a, b]}}",
            "checklist[1].check.value",
            "not exact",
        ),
        (
            "{id: d, check: {type: answer, match: contains, value: []}}",
            "checklist[1].check.value",
            "always passes",
        ),
        (
            "{id: d, check: {type: called, tool: get_order, min_times: 2, max_times: 1}}",
            "checklist[1].check.max_times",
            "below min_times=2",
        ),
        (
            "{id: d, check: {type: order, tools: [get_order, get_order]}}",
            "checklist[1].check.tools",
            "more than once",
        ),
        (
            "{id: d, check: {type: max_steps}}",
            "checklist[1].check",
            "set tool_calls and/or model_calls",
        ),
        (
            "{id: d, check: {type: state, query: SELECT 1, file: a.txt}}",
            "checklist[1].check",
            "exactly one of query, file, command (got query and file)",
        ),
        (
            "{id: d, check: {type: state, query: SELECT 1, regex: '['}}",
            "checklist[1].check.regex",
            "invalid regular expression",
        ),
        (
            "{id: d, check: {type: judge, rubric: ' '}}",
            "checklist[1].check.rubric",
            "the rubric is empty",
        ),
        # Contradictions with the reference: the oracle would fail its own task.
        (
            "{id: d, check: {type: answer, value: shipped}}",
            "checklist[1].check",
            "the reference answer 'Order 1001 is pending.' fails",
        ),
        (
            "{id: d, check: {type: not_called, tool: get_order, args: {order_id: 1001.0}}}",
            "checklist[1].check",
            "the reference itself calls 'get_order'",
        ),
        (
            "{id: d, check: {type: called, tool: get_order, min_times: 2}}",
            "checklist[1].check",
            "fewer than min_times=2",
        ),
        (
            "{id: d, check: {type: order, tools: [get_order, refund_order]}}",
            "checklist[1].check",
            "never calls ['refund_order']",
        ),
        (
            "{id: d, check: {type: max_steps, tool_calls: 0}}",
            "checklist[1].check",
            "makes 1 tool calls, over tool_calls=0",
        ),
    ],
)
def test_checklist_mistakes_name_the_task_and_the_field(tmp_path, item, field, needle):
    path = _write(tmp_path, "t.yaml", _task_yaml(f"      - {item}\n"))
    err = _error(path)
    assert f"task 't1', field {field}: " in str(err), str(err)
    assert needle in str(err), str(err)
    assert err.task_id == "t1" and str(path) in str(err)


def test_a_reference_call_to_an_unknown_tool_names_it_and_lists_the_tools(tmp_path):
    path = _write(tmp_path, "t.yaml", GOOD.replace("tool: get_order, args", "tool: get_ordr, args"))
    text = str(_error(path))
    assert (
        "task 'a', field reference.calls[0].tool: no tool 'get_ordr' in environment 'store'" in text
    )
    assert "get_order, get_order_status" in text


def test_an_unknown_environment_lists_the_known_ones(tmp_path):
    err = _error(
        _write(tmp_path, "t.yaml", GOOD.replace("environment: store", "environment: moon"))
    )
    assert "task 'a', field environment: unknown environment 'moon'; known environments: " in str(
        err
    )
    assert "store" in str(err).split("known environments: ")[1]
    assert err.field == "environment"


def test_check_environments_false_skips_world_and_tool_checks(tmp_path):
    text = GOOD.replace("environment: store", "environment: moon").replace(
        "type: called, tool: get_order}", "type: not_called, tool: nope}"
    )
    path = _write(tmp_path, "t.yaml", text)
    [task] = load_tasks([path], check_environments=False)
    assert task.environment == "moon"
    assert "unknown environment 'moon'" in str(_error(path))  # checked by default


def test_a_world_that_cannot_be_imported_is_reported_as_a_run_would(tmp_path, register_world):
    register_world("ghost", "sandlot.no_such_module:Ghost")
    text = GOOD.replace("environment: store", "environment: ghost")
    err = _error(_write(tmp_path, "t.yaml", text))
    assert "task 'a', field environment: world 'ghost'" in str(err)
    assert "failed to import: ModuleNotFoundError: No module named 'sandlot.no_such_module'" in str(
        err
    )


def test_a_world_that_breaks_on_loading_is_reported(tmp_path, register_world):
    from tests.environments.fakes import FakeEnvironment

    class Broken(FakeEnvironment):
        name = "broken"

        @classmethod
        def default_toolset(cls):
            raise RuntimeError("no tools today")

    register_world("broken", Broken)
    text = GOOD.replace("environment: store", "environment: broken")
    err = _error(_write(tmp_path, "t.yaml", text))
    assert "task 'a', field environment: environment 'broken' could not be loaded: " in str(err)
    assert "RuntimeError: no tools today" in str(err)


def test_a_world_can_refuse_state_checks_it_cannot_answer(tmp_path, register_world):
    from tests.environments.fakes import FakeEnvironment

    register_world("fake", FakeEnvironment)
    text = """
id: f
environment: fake
instruction: x
checklist: [{id: s, check: {type: state, file: notes.txt, contains: milk}}]
"""
    err = _error(_write(tmp_path, "t.yaml", text))
    assert "task 'f', field checklist[0].check: the fake world has no files" in str(err)


def test_duplicate_task_ids_in_one_file_name_both_positions(tmp_path):
    text = "- {id: a, environment: store, instruction: x}\n- {id: a, environment: store, instruction: y}\n"
    err = _error(_write(tmp_path, "t.yaml", text))
    assert "task 'a', field id: task #2 repeats the id of task #1 in this file" in str(err)


def test_duplicate_task_ids_across_files_name_both_files(tmp_path):
    a = _write(tmp_path, "a.yaml", GOOD)
    b = _write(tmp_path, "b.yaml", GOOD)
    err = _error(tmp_path)
    assert err.path == str(b) and err.field == "id" and err.task_id == "a"
    assert f"task 'a', field id: the id is also used in {a}" in str(err)


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda d: d / "missing.yaml", "no such file or directory"),
        (lambda d: (d / "empty").mkdir() or d / "empty", "holds no .yaml, .yml or .json files"),
        (lambda d: _write(d, "tasks.txt", GOOD), "not a task file: name it .yaml, .yml or .json"),
        (lambda d: (d / "t.yaml").write_bytes(b"id: \xff\xfe") and d / "t.yaml", "not UTF-8 text"),
    ],
)
def test_paths_that_are_not_task_files_are_refused(tmp_path, setup, needle):
    path = setup(tmp_path)
    err = _error(path)
    assert needle in str(err) and err.path == str(path)


def test_load_task_file_refuses_a_directory(tmp_path):
    with pytest.raises(TaskFileError, match="a directory; use load_tasks"):
        load_task_file(tmp_path)
