"""Answer checks read answers as users write them: any reply of the conversation
(``scope: any_reply``), compared after ``normalize`` (numbers, punctuation, case,
whitespace) instead of hand-written regexes, with evidence naming the reply that matched."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandlot.environments.checklist import ToolCallRecord, Trajectory, score_episode
from sandlot.environments.checklist_answers import check_answer, normalize_text
from sandlot.environments.loader import TaskFileError, load_tasks
from sandlot.environments.tasks import AnswerCheck, Task
from sandlot.environments.trajectory import ModelCallRecord

ALL = ["numbers", "punctuation", "case", "whitespace"]


def _conversation(*replies: str, answer: str | None = None) -> Trajectory:
    """Executor replies in order, then (when given) the answer submitted with submit_answer."""
    calls = [ModelCallRecord(purpose="plan", content='{"steps": ["look", "answer"]}')]
    calls += [ModelCallRecord(purpose="execute", content=r) for r in replies]
    submits = []
    if answer is not None:
        calls.append(ModelCallRecord(purpose="execute", content=None))
        submits.append(ToolCallRecord("submit_answer", {"answer": answer}, True))
    return Trajectory(
        tool_calls=[ToolCallRecord("get_order", {"order_id": 1007}, True), *submits],
        model_calls=calls,
        answer=answer,
    )


CHAT = _conversation(
    "Order 1007 holds a keyboard and an HDMI cable.",
    "The cable line is cancelled; $12.00 was refunded.",
    answer="Done. Anything else?",
)


def _check(**fields) -> AnswerCheck:
    return AnswerCheck.model_validate({"type": "answer", **fields})


def _run(trajectory: Trajectory = CHAT, **fields):
    return check_answer(_check(**fields), trajectory.answer, trajectory.replies)


# --- scope ---------------------------------------------------------------------------


def test_the_final_scope_reads_only_the_final_answer():
    passed, evidence = _run(value="refunded")
    assert passed is False and evidence["answer"] == "Done. Anything else?"
    assert evidence["missing"] == ["refunded"]


def test_any_reply_passes_on_a_reply_in_the_middle_and_names_it():
    passed, evidence = _run(scope="any_reply", value="refunded")
    assert passed is True
    assert evidence["replies"] == 3  # two executor replies, then the submitted answer
    assert evidence["found"] == {
        "refunded": {"reply_index": 1, "text": "The cable line is cancelled; $12.00 was refunded."}
    }


def test_any_reply_contains_finds_each_value_in_its_own_reply():
    passed, evidence = _run(scope="any_reply", value=["keyboard", "12.00", "anything else"])
    assert passed is True
    assert {k: v["reply_index"] for k, v in evidence["found"].items()} == {
        "keyboard": 0,
        "12.00": 1,
        "anything else": 2,
    }
    passed, evidence = _run(scope="any_reply", value=["keyboard", "store credit"])
    assert passed is False and evidence["missing"] == ["store credit"]
    assert evidence["replies_seen"][2] == "Done. Anything else?"


def test_any_reply_not_contains_fails_when_any_reply_says_it():
    final_only, _ = _run(match="not_contains", value="HDMI")
    assert final_only is True  # the final answer does not say it...
    passed, evidence = _run(scope="any_reply", match="not_contains", value=["HDMI", "credit"])
    assert passed is False  # ...but the first reply did
    assert evidence["present"] == {
        "HDMI": {"reply_index": 0, "text": "Order 1007 holds a keyboard and an HDMI cable."}
    }


@pytest.mark.parametrize(
    ("fields", "index", "detail"),
    [
        ({"match": "regex", "value": r"\$\d+\.\d\d"}, 1, {"matched": "$12.00"}),
        ({"match": "number", "value": 1007}, 0, {"number": 1007.0}),
        ({"match": "exact", "value": "done. anything else?"}, 2, {}),
    ],
)
def test_any_reply_exact_regex_and_number_name_the_first_reply_that_matches(fields, index, detail):
    passed, evidence = _run(scope="any_reply", **fields)
    assert passed is True and evidence["reply_index"] == index
    assert evidence["text"] == CHAT.replies[index]
    assert detail.items() <= evidence.items()


def test_any_reply_that_matches_nowhere_lists_the_replies_seen():
    passed, evidence = _run(scope="any_reply", match="number", value=99)
    assert passed is False and evidence["reply_index"] is None
    assert evidence["replies_seen"] == CHAT.replies


def test_any_reply_reads_a_final_answer_that_no_reply_holds():
    # a trajectory built by hand, or one whose answer was the last executor reply
    bare = Trajectory(answer="The total is $89.99.")
    passed, evidence = check_answer(
        _check(scope="any_reply", value="89.99"), bare.answer, bare.replies
    )
    assert passed is True and evidence["found"]["89.99"]["reply_index"] == 0
    # the answer that is already a reply is not read twice
    passed, evidence = _run(scope="any_reply", value="done")
    assert evidence["replies"] == 3


@pytest.mark.parametrize("match", ["exact", "contains", "not_contains", "regex", "number"])
def test_an_episode_that_wrote_nothing_fails_every_any_reply_match(match):
    passed, evidence = check_answer(_check(scope="any_reply", match=match, value="1"), None, [])
    assert passed is False and evidence["replies"] == 0
    assert evidence["why"] == "the agent wrote no reply and gave no final answer"


async def test_score_episode_hands_the_replies_to_answer_items():
    task = Task.model_validate(
        {
            "id": "t",
            "environment": "store",
            "instruction": "x",
            "checklist": [
                {"id": "any", "check": {"type": "answer", "scope": "any_reply", "value": "$12"}},
                {"id": "final", "check": {"type": "answer", "value": "$12"}},
            ],
        }
    )
    report = await score_episode(task, CHAT)
    assert [v.passed for v in report.verdicts] == [True, False]


# --- normalize -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps", "expected"),
    [
        ("Total: $1,234.50!", ["numbers"], "Total: $1234.5!"),
        ("12,345,678 and 15.00 and 15.05", ["numbers"], "12345678 and 15 and 15.05"),
        ("1,2 and 5, 6 and 1,2345", ["numbers"], "1,2 and 5, 6 and 1,2345"),  # not thousands
        ("v1.10.0 at 10.0.0.1", ["numbers"], "v1.10.0 at 10.0.0.1"),  # not decimals
        ("Grace Hopper's order, #1007.", ["punctuation"], "Grace Hoppers order 1007"),
        ("-5 and 3.5 and 1,234 and .5", ["punctuation"], "-5 and 3.5 and 1,234 and .5"),
        ("2026-03-15 at 10:30", ["punctuation"], "2026 03 15 at 10 30"),  # never 20260315
        ("STRASSE Straße", ["case"], "strasse strasse"),
        ("  a \n\t b  ", ["whitespace"], "a b"),
        # a fixed order whatever the listed one: punctuation never eats a thousands comma
        ("Refund: $1,234.00 .", ["whitespace", "case", "punctuation", "numbers"], "refund $1234"),
        ("Refund: $1,234.00 .", [], "Refund: $1,234.00 ."),
    ],
)
def test_normalize_text(text, steps, expected):
    assert normalize_text(text, steps) == expected


@pytest.mark.parametrize(
    ("fields", "answer", "passed"),
    [
        ({"value": "1,234.50", "normalize": ["numbers"]}, "It costs $1234.5 in total.", True),
        ({"value": "1234.5"}, "It costs $1,234.50 in total.", False),  # without: no match
        ({"value": "$1234.5", "normalize": "numbers"}, "It costs $1,234.50.", True),
        ({"match": "exact", "value": "Grace Hopper", "normalize": ALL}, " grace  HOPPER. ", True),
        ({"match": "exact", "value": "Grace Hopper"}, " grace  HOPPER. ", False),
        ({"value": "hoppers order", "normalize": ["punctuation"]}, "Hopper's order", True),
        ({"match": "not_contains", "value": "1,000", "normalize": ["numbers"]}, "1000", False),
        # regex: only the text is normalised, so the pattern is written for the new text
        (
            {"match": "regex", "value": r"^total \$1234\.5$", "normalize": ALL},
            "Total: $1,234.50",
            True,
        ),
        ({"match": "number", "value": 1234.5, "normalize": ALL}, "Total: $1,234.50!", True),
        (
            {"value": "ABC", "case_sensitive": True, "normalize": ["whitespace"]},
            "A B C abc",
            False,
        ),
    ],
)
def test_normalize_applies_to_both_sides(fields, answer, passed):
    result, evidence = check_answer(_check(**fields), answer)
    assert result is passed, evidence
    check = _check(**fields)
    if check.normalize:  # the evidence shows the text as compared (case-folded by default)
        compared = normalize_text(answer, check.normalize)
        assert evidence["normalized"] == (compared if check.case_sensitive else compared.casefold())


# --- a ported benchmark --------------------------------------------------------------

# τ-bench grades a task's `outputs` by looking for each of them, lower-cased and with the
# commas dropped, in every message the agent sent — not only the last one.
PORTED = """
environment: store
tasks:
  - id: tau-retail-017
    instruction: "How much would a refund of my two orders come to, and what is the tracking number?"
    reference:
      calls: [{tool: get_order, args: {order_id: 1001}}]
      answer: "Your refund would be $1,093.50; tracking number 8412."
    checklist:
      - id: outputs
        check:
          type: answer
          scope: any_reply
          value: ["1093.50", "8412"]
          normalize: [numbers, case]
"""


async def test_a_benchmark_that_accepts_outputs_anywhere_in_the_conversation(tmp_path):
    path = tmp_path / "ported.yaml"
    path.write_text(PORTED)
    [task] = load_tasks([path])  # valid: the reference answer holds both outputs
    spread = _conversation(
        "Those two orders would be refunded $1,093.50 in total.",
        "The tracking number is 8412.",
        answer="Is there anything else I can help with?",
    )
    report = await score_episode(task, spread)
    (verdict,) = report.verdicts
    assert verdict.passed is True and report.success
    assert {k: v["reply_index"] for k, v in verdict.evidence["found"].items()} == {
        "1093.50": 0,
        "8412": 1,
    }
    half = _conversation("The refund would be $1,093.50.", answer="Anything else?")
    verdict = (await score_episode(task, half)).verdicts[0]
    assert verdict.passed is False and verdict.evidence["missing"] == ["8412"]


# --- validation ----------------------------------------------------------------------


def _load(tmp_path: Path, check: str) -> TaskFileError:
    path = tmp_path / "t.yaml"
    path.write_text(
        "environment: store\n"
        "tasks:\n"
        "  - id: t1\n"
        "    instruction: Look up order 1001.\n"
        "    reference: {calls: [{tool: get_order, args: {order_id: 1001}}], answer: Order 1001 is pending.}\n"
        "    checklist:\n"
        f"      - {{id: a, check: {check}}}\n"
    )
    with pytest.raises(TaskFileError) as caught:
        load_tasks([path])
    return caught.value


@pytest.mark.parametrize(
    ("check", "field", "needle"),
    [
        (
            "{type: answer, value: x, scope: everywhere}",
            "checklist[0].check.scope",
            "Input should be 'final', 'any_reply' or 'conversation' (got 'everywhere')",
        ),
        (
            "{type: answer, value: x, normalize: [numbers, digits]}",
            "checklist[0].check.normalize[1]",
            "Input should be 'numbers', 'punctuation', 'case' or 'whitespace' (got 'digits')",
        ),
        (
            "{type: answer, value: x, normalize: 3}",
            "checklist[0].check.normalize",
            "Input should be a valid list",
        ),
        (
            "{type: answer, value: pending, normalize: [case, whitespace, case]}",
            "checklist[0].check.normalize",
            "['case'] listed more than once",
        ),
        (
            "{type: answer, value: pending, case_sensitive: true, normalize: [case]}",
            "checklist[0].check.normalize",
            "'case' folds case but case_sensitive is true; drop one of them",
        ),
        (
            "{type: answer, value: '...', normalize: [punctuation]}",
            "checklist[0].check.value",
            "'...' is empty once normalized (punctuation), which every answer contains, "
            "so the check always passes",
        ),
        (
            "{type: answer, match: not_contains, value: [x, ' ! '], normalize: [punctuation]}",
            "checklist[0].check.value",
            "holds a value that is empty once normalized (punctuation)",
        ),
        (
            "{type: answer, value: x, scop: any_reply}",
            "checklist[0].check.scop",
            "did you mean 'scope'? allowed: type, match, value, tolerance, case_sensitive, "
            "scope, normalize",
        ),
        (  # the reference is checked under the same scope and normalisation
            "{type: answer, scope: any_reply, value: '1,001 shipped', normalize: [numbers]}",
            "checklist[0].check",
            "the reference answer 'Order 1001 is pending.' fails this check",
        ),
    ],
)
def test_bad_scope_and_normalize_values_are_refused_with_the_field(tmp_path, check, field, needle):
    error = str(_load(tmp_path, check))
    assert f"task 't1', field {field}: " in error, error
    assert needle in error, error


def test_good_scope_and_normalize_values_load(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "environment: store\n"
        "tasks:\n"
        "  - id: t1\n"
        "    instruction: Look up order 1001.\n"
        "    reference: {calls: [{tool: get_order, args: {order_id: 1001}}], answer: 'Order 1,001 is PENDING.'}\n"
        "    checklist:\n"
        "      - {id: a, check: {type: answer, scope: any_reply, value: 'order 1001 is pending', normalize: [numbers, punctuation, whitespace]}}\n"
        "      - {id: b, check: {type: answer, match: exact, value: ' order 1001 is pending ', normalize: all_of_them_no}}\n"
    )
    with pytest.raises(TaskFileError):  # one bad name spoils the file...
        load_tasks([path])
    path.write_text(path.read_text().replace("all_of_them_no", "[numbers, punctuation]"))
    tasks = load_tasks([path])  # ...and fixed, every form loads
    checks = [item.check for item in tasks[0].checklist]
    assert [(c.scope, c.normalize) for c in checks] == [
        ("any_reply", ["numbers", "punctuation", "whitespace"]),
        ("final", ["numbers", "punctuation"]),
    ]
    assert _check(value="x", normalize="case").normalize == ["case"]  # one name, no list
    assert _check(value="x").scope == "final" and _check(value="x").normalize == []
