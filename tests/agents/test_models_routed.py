"""One model per role: plan requests to the planner, the rest to the executor."""

from __future__ import annotations

from sandlot.agents.models import ScriptedModel
from sandlot.agents.models.base import ModelRequest
from sandlot.agents.models.routed import RoutedModel
from sandlot.agents.running.runner import run
from tests.agents.conftest import notes_task


async def test_each_request_goes_to_the_model_of_its_role(tmp_path):
    planner = ScriptedModel([], plan=["add the note", "answer"])
    executor = ScriptedModel(
        [
            {"tool": "add_note", "args": {"text": "buy milk"}},
            {"content": "done"},
            {"content": "There is 1 note."},
        ]
    )
    routed = RoutedModel(planner, executor)
    result = await run([notes_task()], model=routed, db=tmp_path / "t.db")
    [episode] = result.episodes
    assert episode.success, episode.error
    assert [r.purpose for r in planner.requests] == ["plan"]
    assert executor.requests and {r.purpose for r in executor.requests} == {"execute"}
    assert routed.describe()["planner"]["kind"] == planner.describe()["kind"]


async def test_one_model_for_both_roles_is_checked_and_closed_once():
    calls: list[str] = []

    class Counting(ScriptedModel):
        async def check(self) -> None:
            calls.append("check")

        async def aclose(self) -> None:
            calls.append("close")

    same = Counting([])
    routed = RoutedModel(same, same)
    await routed.check()
    await routed.aclose()
    assert calls == ["check", "close"]
    assert routed.name == same.name
    other = RoutedModel(Counting([]), Counting([]))
    await other.check()
    assert calls.count("check") == 3
    response = await RoutedModel(ScriptedModel([{"content": "a"}]), ScriptedModel([])).complete(
        ModelRequest(messages=[], purpose="plan")
    )
    assert response.content == "a"
