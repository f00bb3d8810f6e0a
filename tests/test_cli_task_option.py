"""`sandlot run --task ID` runs a subset of the loaded tasks; an id no task has is a
usage error under --task that suggests the closest ids; the run says where to view it."""

from __future__ import annotations

from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.traces.query import TraceReader

TASKS = """
environment: store
tasks:
""" + "".join(
    f"""
  - id: store-{name}
    instruction: "Look up order 1004."
    checklist:
      - {{id: looked, description: "Looked", check: {{type: called, tool: get_order}}}}
    reference:
      calls:
        - {{tool: get_order, args: {{order_id: 1004}}}}
      answer: "seen"
"""
    for name in ("alpha", "beta", "bravo")
)


def test_task_runs_only_the_tasks_named(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TASKS)
    db = tmp_path / "t.db"
    args = ["run", str(path), "--db", str(db), "--agent", "single", "-q"]
    out = CliRunner().invoke(app, [*args, "--task", "store-alpha", "--task", "store-b*"])
    assert out.exit_code == 0, out.output
    with TraceReader(db) as reader:
        run_id = reader.runs()[0]["id"]
        assert f"http://127.0.0.1:8321/#/run/{run_id}" in out.output  # the viewer's page
        assert sorted(e["task_id"] for e in reader.episodes()) == [
            "store-alpha",
            "store-beta",
            "store-bravo",
        ]
    out = CliRunner().invoke(app, [*args, "--task", "store-alpa"])
    assert out.exit_code == 2
    assert "--task" in out.output and "did you mean store-alpha" in out.output
    out = CliRunner().invoke(app, [*args, "--task", "store-beta"])
    with TraceReader(db) as reader:
        assert len(reader.runs()) == 2 and len(reader.episodes(reader.runs()[-1]["id"])) == 1
