"""The run summary's estimators against hand-computed values, and the shipped tasks' tags."""

from __future__ import annotations

from math import sqrt
from pathlib import Path

import pytest

from sandlot.environments.loader import load_tasks
from sandlot.traces.stats import (
    CAPABILITY_TAGS,
    bootstrap_ci,
    pass_at,
    pass_hat,
    pass_hat_k,
    standard_error,
    tag_order,
    tag_rows,
)
from sandlot.traces.summary import pass_at_k

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("k", "at", "hat"),
    # n=5, c=2: pass@k = 1 - C(3,k)/C(5,k), pass^k = C(2,k)/C(5,k)
    [(1, 0.4, 0.4), (2, 0.7, 0.1), (3, 0.9, 0.0), (4, 1.0, 0.0), (5, 1.0, 0.0)],
)
def test_pass_at_and_pass_hat_for_five_samples_two_successes(k, at, hat):
    assert pass_at_k(5, 2, k) == pytest.approx(at)
    assert pass_hat_k(5, 2, k) == pytest.approx(hat)


def test_pass_hat_edges_and_bad_input():
    assert pass_hat_k(3, 3, 3) == 1.0 and pass_hat_k(3, 0, 1) == 0.0
    assert pass_hat_k(2, 2, 5) == 1.0  # k clipped to n
    with pytest.raises(ValueError):
        pass_hat_k(2, 3, 1)


def test_pass_at_and_pass_hat_average_over_tasks_for_every_k():
    runs = {"a": [True, False, False, True, False], "b": [True] * 5}
    assert pass_at(runs, 5) == pytest.approx({1: 0.7, 2: 0.85, 3: 0.95, 4: 1.0, 5: 1.0})
    assert pass_hat(runs, 5) == pytest.approx({1: 0.7, 2: 0.55, 3: 0.5, 4: 0.5, 5: 0.5})
    assert pass_at({}, 3) == {} and pass_hat({}, 3) == {}


def test_binomial_standard_error_with_one_epoch():
    groups = {t: [x] for t, x in zip("abcd", [1.0, 1.0, 0.0, 0.0], strict=True)}
    assert standard_error(groups, clustered=False) == pytest.approx(sqrt(0.5 * 0.5 / 4))
    assert standard_error({}, clustered=False) is None


def test_clustered_standard_error_uses_the_task_as_the_unit():
    # task means 1, 0, 0.5: their sample sd is 0.5, over sqrt(3) tasks
    groups = {"a": [1.0, 1.0], "b": [0.0, 0.0], "c": [1.0, 0.0]}
    assert standard_error(groups, clustered=True) == pytest.approx(0.5 / sqrt(3))
    # the same values as independent episodes give a smaller error
    assert standard_error(groups, clustered=False) == pytest.approx(sqrt(0.25 / 6))
    # unequal tasks: CR1 with cluster residual sums 0.75 and -0.75 of a pooled 0.25
    assert standard_error({"a": [1.0], "b": [0.0, 0.0, 0.0]}, clustered=True) == pytest.approx(
        sqrt(2 * (0.75**2 + 0.75**2)) / 4
    )
    assert standard_error({"a": [1.0, 0.0]}, clustered=True) is None  # one task: no spread


def _alternating(tasks: int) -> dict[str, list[float]]:
    return {f"t{i:03}": [float(i % 2), float(i % 3 == 0)] for i in range(tasks)}


def test_bootstrap_interval_contains_the_estimate_and_is_reproducible():
    groups = _alternating(30)
    values = [x for v in groups.values() for x in v]
    point = sum(values) / len(values)
    lo, hi = bootstrap_ci(groups)  # type: ignore[misc]
    assert lo < point < hi
    assert bootstrap_ci(groups) == (lo, hi)
    # the same tasks in another order resample the same way
    assert bootstrap_ci(dict(reversed(groups.items()))) == (lo, hi)
    assert bootstrap_ci({"only": [1.0, 0.0]}) is None


def test_bootstrap_interval_widens_with_fewer_tasks():
    def width(tasks: int) -> float:
        lo, hi = bootstrap_ci(_alternating(tasks))  # type: ignore[misc]
        return hi - lo

    assert width(6) > width(24) > width(96)


def test_tag_rows_count_tasks_and_episodes_per_tag():
    successes = {"a": [True, False], "b": [True, True], "c": [False, False]}
    scores = {"a": [1.0, 0.5], "b": [1.0, 1.0], "c": [0.0, 0.25]}
    tags = {"a": ["retrieval", "multi-step"], "b": ["retrieval"], "d": ["refusal"]}
    rows = tag_rows(successes, scores, tags, clustered=True)
    assert list(rows) == ["multi-step", "retrieval"]  # sorted; untagged c and unrun d: none
    r = rows["retrieval"]
    assert (r["episodes"], r["tasks"], r["passed"]) == (4, 2, 3)
    assert r["success_rate"] == 0.75 and r["mean_score"] == pytest.approx(0.875)
    assert r["success_se"] == pytest.approx(0.25)  # task means 0.5 and 1: sd 0.354 / sqrt 2
    assert rows["multi-step"]["success_se"] is None  # one task


def test_tag_rows_put_numbered_tags_in_numeric_order():
    successes = {"a": [True], "b": [False], "c": [True], "d": [True]}
    tags = {"a": ["size:12"], "b": ["size:3"], "c": ["size:5", "planning"], "d": ["rooms:24"]}
    rows = tag_rows(successes, {t: [1.0] for t in successes}, tags, clustered=False)
    assert list(rows) == ["planning", "rooms:24", "size:3", "size:5", "size:12"]
    assert tag_order("size:3") < tag_order("size:12") < tag_order("size:12b")


def test_every_shipped_task_has_a_capability_tag():
    tasks = load_tasks([ROOT / "examples/tasks"])
    assert tasks
    untagged = [t.id for t in tasks if not set(t.tags) & set(CAPABILITY_TAGS)]
    assert not untagged, f"tasks without a capability tag: {untagged}"
    # `name:value` tags (size:5, rooms:12) say how large a generated task is, not what
    # it exercises: they are outside the vocabulary.
    capabilities = {t.id: [tag for tag in t.tags if ":" not in tag] for t in tasks}
    unknown = {tag for tags in capabilities.values() for tag in tags} - set(CAPABILITY_TAGS)
    assert not unknown, f"tags outside the vocabulary (docs/tasks.md): {unknown}"
    assert all(1 <= len(tags) <= 3 for tags in capabilities.values())


def test_the_vocabulary_is_documented():
    text = (ROOT / "docs/tasks.md").read_text()
    assert all(f"`{tag}`" in text for tag in CAPABILITY_TAGS)
