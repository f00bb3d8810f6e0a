"""Reading the planner's reply: the JSON asked for, and what real models send instead."""

from __future__ import annotations

import pytest

from sandlot.agents.graph.prompts import parse_plan

STEPS = ["Find the order", "Answer"]


@pytest.mark.parametrize(
    "reply",
    [
        '{"steps": ["Find the order", "Answer"]}',
        '["Find the order", "Answer"]',
        '```json\n{"steps": ["Find the order", "Answer"]}\n```',
        '```JSON\n{"steps": ["Find the order", "Answer"]}\n```',
        'Here is the plan:\n{"steps": ["Find the order", "Answer"]}',
        '{"steps": ["Find the order", "Answer"]}\nLet me know if you need changes.',
        'Format:\n```\nsteps\n```\nPlan:\n```json\n{"steps": ["Find the order", "Answer"]}\n```',
        '{"steps": [{"step": 1, "description": "Find the order"}, {"step": 2, "text": "Answer"}]}',
        '{"plan": ["Find the order", "Answer"]}',
        '<think>the user wants {"x": 1}</think>\n{"steps": ["Find the order", "Answer"]}',
    ],
)
def test_json_plans_are_read_whatever_surrounds_them(reply):
    assert parse_plan(reply) == (STEPS, None)


@pytest.mark.parametrize(
    "reply",
    [
        "Plan:\n1. Find the order\n2. Answer",
        "- Find the order\n- Answer",
        "Step 1: Find the order\nStep 2: Answer",
        "1) Find the order\n2) Answer",
    ],
)
def test_lists_are_read_with_a_note(reply):
    steps, note = parse_plan(reply)
    assert steps == STEPS and note and "not JSON" in note


@pytest.mark.parametrize(
    ("reply", "note"),
    [
        ("", "no text"),
        (None, "no text"),
        ("I will look into it [1].", "no steps"),
        ('```json\n{"steps": ["a",]}\n```', "no steps"),
    ],
)
def test_replies_without_steps_say_so(reply, note):
    steps, why = parse_plan(reply)
    assert steps == [] and note in why
