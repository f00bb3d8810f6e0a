"""A forked episode in the browser: its header says what it forks and where, links to
the original, and opens the comparison with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandlot.agents.after.fork import fork_episode
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.traces.viewer.server import ViewerServer
from tests.traces.conftest import in_a_thread

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


async def _forked(db: Path) -> tuple[str, str]:
    task = next(
        t for t in load_tasks([ROOT / "examples/tasks/store"]) if t.id == "store-orders-005"
    )
    original = (await run([task], model="oracle", db=db)).episodes[0].episode_id
    report = await fork_episode(db, original, at=2, model="null")
    return original, report.fork.episode_id


def test_a_fork_links_to_its_original_and_compares_with_it(tmp_path, page):
    original, fork = in_a_thread(_forked(tmp_path / "t.db"))
    with ViewerServer(tmp_path / "t.db", port=0) as srv:
        page.goto(srv.url + f"#/episode/{fork}")
        page.wait_for_selector("#fork-of")
        text = page.inner_text("#fork-of")
        assert f"fork of {original} at step 2" in text
        assert page.get_attribute("#fork-original", "href") == f"#/episode/{original}"
        page.click("#compare-fork")
        page.wait_for_selector("#first-diff")
        assert page.locator("tr.diff").count() > 0  # the null model continued otherwise
