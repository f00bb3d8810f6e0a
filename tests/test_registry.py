"""One registry for every extension point: names from builtins, code and entry points,
resolved the same way, with clear errors."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from sandlot import registry as registry_module
from sandlot.agents.models.registry import make_model
from sandlot.agents.models.scripted import ScriptedModel
from sandlot.environments.sandbox.factory import backend_names, make_sandbox
from sandlot.environments.sandbox.local import LocalSandbox
from sandlot.errors import UnknownEnvironmentError, UserError
from sandlot.registry import (
    CHECKS,
    MODELS,
    SANDBOXES,
    WORLDS,
    ExtensionLoadError,
    Registry,
    UnknownNameError,
)

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox does not isolate")

THING = object()


def fake_entry_points(monkeypatch, *eps: EntryPoint) -> None:
    monkeypatch.setattr(
        registry_module, "entry_points", lambda group: [e for e in eps if e.group == group]
    )


def test_code_beats_builtin_beats_entry_point_and_entries_say_where_from(monkeypatch):
    reg: Registry[object] = Registry("widget", ("test.widgets",))
    reg.register("a", "tests.test_registry:THING", source="builtin")
    fake_entry_points(
        monkeypatch,
        EntryPoint("a", "nowhere:X", "test.widgets"),
        EntryPoint("b", "tests.test_registry:THING", "test.widgets"),
    )
    assert reg.names() == ["a", "b"]
    assert [(e.name, e.origin) for e in reg.entries()] == [
        ("a", "builtin"),
        ("b", "entry point 'tests.test_registry:THING' (group test.widgets)"),
    ]
    assert reg.get("a") is THING and reg.get("b") is THING
    other = object()
    reg.register("a", other)
    assert reg.get("a") is other and reg.entry("a").source == "code"
    reg.unregister("a")
    assert reg.get("a") is THING and reg.entry("a").source == "builtin"


def test_an_unknown_name_lists_the_known_ones():
    reg: Registry[object] = Registry("widget")
    reg.register("x", THING)
    with pytest.raises(UnknownNameError, match="unknown widget 'y'; known: x") as info:
        reg.get("y")
    assert isinstance(info.value, UserError) and isinstance(info.value, KeyError)
    with pytest.raises(UnknownEnvironmentError, match="unknown environment 'nope'.*store"):
        WORLDS.get("nope")


def test_an_entry_point_that_fails_to_import_names_it_and_its_error(monkeypatch):
    reg: Registry[object] = Registry("widget", ("test.widgets",))
    fake_entry_points(monkeypatch, EntryPoint("gone", "no_such_pkg_4713.mod:W", "test.widgets"))
    with pytest.raises(ExtensionLoadError) as info:
        reg.get("gone")
    assert str(info.value) == (
        "widget 'gone' from entry point 'no_such_pkg_4713.mod:W' (group test.widgets) failed "
        "to import: ModuleNotFoundError: No module named 'no_such_pkg_4713'"
    )
    assert isinstance(info.value, UserError)


def test_a_target_of_the_wrong_kind_is_refused_when_resolved():
    reg: Registry[object] = Registry("world", expects="sandlot.environments.base:Environment")
    reg.register("odd", "tests.test_registry:THING")
    with pytest.raises(ExtensionLoadError, match="world 'odd' .* is a object .*not a Environment"):
        reg.get("odd")


def test_an_empty_name_is_refused():
    with pytest.raises(UserError, match="non-empty name"):
        Registry("widget").register(" ", THING)


async def test_a_sandbox_backend_registered_in_code_is_made_by_name(monkeypatch):
    made = []

    async def tmpdir_backend(limits, *, run_id=""):
        made.append(run_id)
        return LocalSandbox(limits)

    SANDBOXES.register("tmpdir", tmpdir_backend)
    try:
        assert "tmpdir" in backend_names()
        sandbox = await make_sandbox("tmpdir", run_id="r1")
        await sandbox.close()
        assert made == ["r1"] and isinstance(sandbox, LocalSandbox)
    finally:
        SANDBOXES.unregister("tmpdir")
    with pytest.raises(UserError, match="unknown sandbox backend 'tmpdir'"):
        await make_sandbox("tmpdir")


async def test_a_backend_that_returns_no_sandbox_is_refused():
    from sandlot.errors import SandboxError

    SANDBOXES.register("bad", lambda limits, run_id="": "not a sandbox")
    try:
        with pytest.raises(SandboxError, match="returned a str, not a Sandbox"):
            await make_sandbox("bad")
    finally:
        SANDBOXES.unregister("bad")


def test_a_model_provider_registered_in_code_is_made_from_a_spec():
    seen = []

    def echo(rest, **options):
        seen.append((rest, options))
        return ScriptedModel(["hi"], name=f"echo:{rest}")

    MODELS.register("echo", echo)
    try:
        model = make_model("echo:a:b", temperature=0)
        assert isinstance(model, ScriptedModel) and seen == [("a:b", {"temperature": 0})]
    finally:
        MODELS.unregister("echo")
    with pytest.raises(ValueError, match="unknown kind 'echo'"):
        make_model("echo:x")


def test_the_builtins_are_registered_the_same_way():
    assert {"store", "workspace"} <= set(WORLDS.names())
    assert {"docker", "local"} <= set(SANDBOXES.names())
    assert {"oracle", "null", "openai", "scripted", "replay"} <= set(MODELS.names())
    kinds = {"called", "not_called", "order", "max_steps", "answer", "judge"}
    assert kinds <= set(CHECKS.names())
    builtin = {
        WORLDS: {"store", "workspace"},
        SANDBOXES: {"docker", "local"},
        MODELS: {"oracle", "null", "openai", "scripted", "replay"},
        CHECKS: kinds,
    }
    for reg, names in builtin.items():
        # (other tests register worlds of their own in code: only sandlot's are checked)
        for entry in reg.entries():
            if entry.name in names:
                assert entry.source == "builtin", entry
                reg.get(entry.name)  # every builtin imports


def test_the_cli_accepts_a_registered_sandbox_backend():
    from typer.testing import CliRunner

    from sandlot.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["replay", "x.db", "e1", "--sandbox", "vm"])
    assert bad.exit_code == 2 and "'vm' is not one of auto, docker, local" in bad.output
    SANDBOXES.register("vm", "sandlot.environments.sandbox.factory:local_backend")
    try:
        out = runner.invoke(app, ["replay", "x.db", "e1", "--sandbox", "vm"])
        assert "is not one of" not in out.output  # past the option, to the missing trace
    finally:
        SANDBOXES.unregister("vm")
