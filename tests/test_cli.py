"""Every CLI command has help text and is documented in docs/cli.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import typer.main
from typer.testing import CliRunner

from sandlot.cli import app

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands(group: Any, prefix: str = "sandlot") -> list[tuple[str, Any]]:
    found = []
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        path = f"{prefix} {name}"
        found.append((path, cmd))
        if hasattr(cmd, "list_commands"):
            found.extend(_commands(cmd, path))
    return found


COMMANDS = _commands(typer.main.get_command(app))  # type: ignore[arg-type]


def test_the_cli_has_the_documented_commands():
    names = {path for path, _ in COMMANDS}
    expected = {"sandlot run", "sandlot tools list", "sandlot tools show", "sandlot tasks validate"}
    assert expected <= names


def test_every_command_has_help_text():
    runner = CliRunner()
    for path, cmd in COMMANDS:
        assert (cmd.help or "").strip(), f"{path} has no help text"
        args = path.split()[1:] + ["--help"]
        out = runner.invoke(app, args)
        assert out.exit_code == 0, (path, out.output)
        assert "Usage" in out.output


def test_every_command_is_documented():
    text = DOCS.read_text()
    for path, cmd in COMMANDS:
        if hasattr(cmd, "list_commands"):
            continue
        assert f"`{path}" in text, f"{path} is not documented in docs/cli.md"


def test_bad_input_gets_a_clear_error_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    runner = CliRunner()
    tasks = str(Path(__file__).resolve().parents[1] / "examples/tasks/store/no_tool.yaml")
    out = runner.invoke(
        app, ["run", tasks, "--model", "openai:gpt-4o", "--db", str(tmp_path / "t.db")]
    )
    assert out.exit_code == 2 and "OPENAI_API_KEY" in out.output and "Traceback" not in out.output
    out = runner.invoke(app, ["run", tasks, "--model", "nonsense", "--db", str(tmp_path / "t.db")])
    assert out.exit_code == 2 and "oracle" in out.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "environment: store\ntasks:\n  - id: x\n    instruction: hi\n    checklist:\n"
        "      - {id: a, check: {type: called, tool: nope}}\n"
    )
    out = runner.invoke(app, ["run", str(bad), "--db", str(tmp_path / "t.db")])
    assert out.exit_code == 2 and "no tool 'nope'" in out.output
    out = runner.invoke(app, ["view", str(tmp_path / "missing.db")])
    assert out.exit_code == 2 and "no trace file" in out.output


def test_commands_that_read_a_trace_never_create_one_at_a_wrong_path(tmp_path):
    runner = CliRunner()
    tasks = str(Path(__file__).resolve().parents[1] / "examples/tasks/store/no_tool.yaml")
    missing = tmp_path / "typo.db"
    for args in (
        ["replay", str(missing), "ep"],
        ["score", str(missing), "--tasks", tasks],
        ["run", "--resume", "--db", str(missing)],
        ["export", str(missing), "ep", "--html", str(tmp_path / "o.html")],
        ["view", str(missing)],
    ):
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and "no trace file" in out.output, (args, out.output)
        assert "Traceback" not in out.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_trace_is_refused_and_left_as_it_was(tmp_path):
    runner = CliRunner()
    tasks = str(Path(__file__).resolve().parents[1] / "examples/tasks/store/no_tool.yaml")
    notes = tmp_path / "notes.db"
    notes.write_text("my notes " * 50)
    for args in (["run", tasks, "--db", str(notes)], ["score", str(notes), "--tasks", tasks]):
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and "is not a trace file" in out.output, (args, out.output)
    assert notes.read_text() == "my notes " * 50


def test_unknown_environment_and_tools_source_are_usage_errors(tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["tools", "list", "--env", "nope"])
    assert out.exit_code == 2 and "unknown environment 'nope'" in out.output
    assert "store" in out.output and "Traceback" not in out.output
    out = runner.invoke(app, ["tools", "list", "--tools", str(tmp_path / "missing.py")])
    assert out.exit_code == 2 and "no tools file at" in out.output
    out = runner.invoke(app, ["tools", "list", "--tools", "no_such_module_here"])
    assert out.exit_code == 2 and "no module named 'no_such_module_here'" in out.output


def test_bad_option_values_are_usage_errors_before_anything_runs(tmp_path):
    runner = CliRunner()
    tasks = str(Path(__file__).resolve().parents[1] / "examples/tasks/store/no_tool.yaml")
    db = str(tmp_path / "t.db")
    broken = tmp_path / "broken_tools.py"
    broken.write_text("def oops(:\n")
    clash = tmp_path / "clash_tools.py"
    clash.write_text(
        "from sandlot import tool\n\n\n@tool\ndef get_order(order_id: int) -> str:\n"
        '    """Shadow a store tool.\n\n    Args:\n        order_id: The order.\n    """\n'
        "    return 'x'\n"
    )
    cases = [
        (["run", tasks, "--db", db, "--agent", "bogus"], "--agent"),
        (["run", tasks, "--db", db, "--sandbox", "bogus"], "--sandbox"),
        (["run", tasks, "--db", db, "--tools", str(broken)], "broken_tools.py, line 1"),
        (["run", tasks, "--db", db, "--tools", str(clash)], "already has tool(s) named get_order"),
        (["tools", "list", "--tools", str(clash)], "already has tool(s) named get_order"),
        (["run", "--resume", "--db", db, "--tools", str(tmp_path / "none.py")], "no tools file"),
        (["view", db, "--port", "70000"], "--port"),
    ]
    for args, said in cases:
        out = runner.invoke(app, args)
        assert out.exit_code == 2 and said in out.output, (args, out.output)
        assert "Traceback" not in out.output
    assert not (tmp_path / "t.db").exists()  # refused before a trace was opened


def test_a_user_error_no_command_handled_is_a_usage_message_not_a_traceback(monkeypatch, capsys):
    import pytest

    from sandlot import cli
    from sandlot.errors import TaskFileError

    def failing() -> None:
        raise TaskFileError("tasks.yaml", ["task 't': checklist[0].check.type: unknown"])

    monkeypatch.setattr(cli, "app", failing)
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: tasks.yaml: 1 problem") and "Traceback" not in err


def test_request_timeout_and_retries_bound_a_hanging_endpoint(fake_openai, tmp_path):
    from sandlot.traces.store import TraceStore
    from tests.agents.fake_openai import slow

    fake_openai.default = lambda body: slow(30)  # answers long after any timeout here
    db = tmp_path / "t.db"
    task = Path(__file__).resolve().parents[1] / "examples/tasks/store/orders.yaml"
    args = ["run", str(task), "--db", str(db), "-q", "--model", "openai:hangs"]
    args += ["--base-url", fake_openai.base_url, "--api-key", "k", "--concurrency", "1"]
    result = CliRunner().invoke(app, [*args, "--request-timeout", "0.2", "--retries", "1"])
    assert result.exit_code == 0, result.output
    with TraceStore(db) as store:
        [run] = store.runs()
        episodes = store.episodes(run["id"])
    assert run["config"]["model"]["timeout"] == 0.2
    assert run["config"]["model"]["max_retries"] == 1
    assert episodes and all(e["outcome"] == "error" for e in episodes)
    assert all("timed out (0.2 s per attempt, 1 retry)" in e["error"] for e in episodes)
    assert len(fake_openai.requests) == 2 * len(episodes)  # one try and one retry each


def test_request_timeout_and_retries_refuse_nonsense():
    for option, value in (("--request-timeout", "0"), ("--retries", "-1")):
        result = CliRunner().invoke(app, ["run", "x.yaml", option, value])
        assert result.exit_code == 2 and option in result.output


def test_a_wrong_model_name_stops_the_run_before_any_episode(fake_openai, tmp_path):
    fake_openai.models = ["the-real-one"]
    db = tmp_path / "t.db"
    task = Path(__file__).resolve().parents[1] / "examples/tasks/store/orders.yaml"
    args = ["run", str(task), "--db", str(db), "-q", "--model", "openai:typo"]
    result = CliRunner().invoke(app, [*args, "--base-url", fake_openai.base_url])
    assert result.exit_code == 1
    assert "does not serve a model named 'typo'; it lists: the-real-one" in result.output
    assert "Traceback" not in result.output
    assert fake_openai.requests == [] and not db.exists()


def test_model_options_and_per_role_models_are_recorded_in_the_run(fake_openai, tmp_path):
    from sandlot.traces.store import TraceStore
    from tests.agents.fake_openai import text_reply

    fake_openai.default = lambda body: text_reply("I cannot help with that.")
    db = tmp_path / "t.db"
    task = Path(__file__).resolve().parents[1] / "examples/tasks/store/lookups.yaml"
    args = ["run", str(task), "--db", str(db), "-q", "--concurrency", "1"]
    args += ["--planner-model", "oracle", "--executor-model", "openai:small"]
    args += ["--base-url", fake_openai.base_url, "--temperature", "0.3", "--top-p", "0.5"]
    args += ["--max-tokens", "99", "--seed", "11", "--tool-calls", "text"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with TraceStore(db) as store:
        [run] = store.runs()
    described = run["config"]["model"]
    assert described["kind"] == "routed" and described["planner"]["kind"] == "OracleModel"
    executor = described["executor"]
    assert (executor["temperature"], executor["top_p"], executor["max_tokens"]) == (0.3, 0.5, 99)
    assert (executor["seed"], executor["tool_calls"]) == (11, "text")
    sent = fake_openai.bodies
    assert sent and all(b["model"] == "small" and b["max_tokens"] == 99 for b in sent)
    assert all("tools" not in b for b in sent)  # text mode: the tools are in the prompt
