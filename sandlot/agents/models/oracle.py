"""The oracle: plays a task's reference solution through the same graph as a real model.

It validates tasks and checklists (the oracle should pass its own task) and demos the
whole pipeline offline. It keeps no state: everything it does is derived from the
request, so one instance can serve many concurrent episodes.

Rules (see docs/models.md):

* plan: one step per reference call, ``"NEED: k=v, ..."`` — what the call does in words
  (the first sentence of its tool's description) and its argument values, never the
  tool's name, so the step's retrieval must find the tool as it would for a real
  planner — then :data:`FINAL_STEP`. The descriptions come from the planner request's
  ``metadata["catalog_descriptions"]`` (every tool, whatever the planner was shown),
  else ``metadata["tool_descriptions"]``.
* replan: the steps of the reference calls not yet made, then :data:`FINAL_STEP`. The
  calls made are counted from the assistant tool calls in the request's messages; when
  the planner does not see the conversation (sandlot's does not), from the completed
  steps that are oracle call steps (``metadata["completed"]``); the larger count wins.
* execute: ``made`` = non-submit tool calls in the request's messages. In a plan whose
  last step is :data:`FINAL_STEP` (the oracle's own shape), a non-final step emits the
  next reference call when ``step_calls == 0`` and replies "Step done." otherwise; the
  final step emits any reference call still missing, then ``submit_answer``. Any other
  plan (e.g. the single-agent baseline's one step) gets the next reference call until
  all are made, then ``submit_answer``. Calls are made by name whatever tools the step
  was offered (a call outside the offer is recorded with ``offered=False``).
* asks (a task with a simulated user): before emitting the reference call at index ``i``
  (or the answer, ``i = n``) the oracle first sends, one reply each, the reference's
  ``asks`` with ``before <= i`` it has not sent yet (a reply of the same text in the
  conversation). "Step done." starts with ``STEP DONE``, so it still ends a step.
* user (``--user-model oracle``): plays the task's user from its hidden facts — the facts
  the agent's message names; else "Yes, please." to a question; else the stop token.
* judge: refused with ModelError.

So for ``n`` reference calls and ``a`` asks the oracle makes ``2n + 2 + a`` model calls
with the plan-execute agent (the plan, a call and "Step done." per step, the submit, the
asks) and ``n + 1 + a`` with the single agent (the calls, the submit, the asks):
:meth:`OracleModel.model_calls_needed`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse
from sandlot.environments.trajectory import SUBMIT_TOOL
from sandlot.environments.users import hidden_facts_asked
from sandlot.tools.calls import ToolCall

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import ReferenceCall, ReferenceSolution, Task

__all__ = ["FINAL_STEP", "SUBMIT_TOOL", "OracleModel", "oracle_step"]

FINAL_STEP = "Give the final answer to the user."
_STEP_DONE = "Step done."


_SENTENCE = re.compile(r"(.+?[.!?])(?=\s|$)")


def _first_sentence(text: str) -> str:
    """The first sentence of a (possibly wrapped) description, on one line."""
    flat = " ".join(text.split())
    found = _SENTENCE.match(flat)
    return found.group(1) if found else flat


def oracle_step(call: ReferenceCall, descriptions: dict[str, str] | None = None) -> str:
    """The plan step text the oracle writes for one reference call: what the call does,
    in the words of the first sentence of its tool's description, and the argument
    values (``Cancel a whole order that has not shipped: order_id=1001``). It does not
    name the tool (only a tool with no description is described by its name's words)."""
    need = _first_sentence((descriptions or {}).get(call.tool, "")).rstrip(".")
    if not need:
        need = call.tool.replace("_", " ").strip().capitalize()
    if not call.args:
        return f"{need}."
    args = ", ".join(
        f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in call.args.items()
    )
    return f"{need}: {args}"


def _pending_ask(request: ModelRequest, reference: ReferenceSolution, made: int) -> str | None:
    """The first of the reference's asks due before call ``made`` not yet sent (only in
    a task with a simulated user)."""
    if request.task is None or request.task.user is None:
        return None
    sent = {
        str(m.get("content") or "")
        for m in request.messages
        if m.get("role") == "assistant" and not m.get("tool_calls")
    }
    for ask in reference.asks:
        if ask.before <= made and ask.text not in sent:
            return ask.text
    return None


def _assistant_calls(messages: list[dict[str, Any]]) -> list[str]:
    """Names of every tool call the assistant made in the conversation, in order."""
    names: list[str] = []
    for message in messages:
        if message.get("role") == "assistant":
            for tool_call in message.get("tool_calls") or []:
                names.append(tool_call.get("function", {}).get("name", ""))
    return names


class OracleModel(Model):
    """Plays ``request.task.reference``; answers plan and execute requests, refuses judge."""

    name = "oracle"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.purpose == "user":
            return self._user(request)
        reference = self._reference(request)
        if request.purpose == "plan":
            return self._plan(request, reference)
        if request.purpose == "execute":
            return self._execute(request, reference)
        raise ModelError(
            f"the oracle cannot judge (purpose {request.purpose!r}); "
            "configure a real model for judge checks"
        )

    def model_calls_needed(self, task: Task, agent: str) -> int | None:
        """Exactly how many model calls the oracle makes on ``task``.

        ``plan-execute``: one plan, two executor calls per reference call (the call, then
        "Step done." that ends its step), one for submit_answer: ``2n + 2``. ``single``:
        one executor call per reference call, one for submit_answer: ``n + 1``. This holds
        when no step fails (the graph's ``max_calls_per_step`` is at least 2, the default
        8) and the reference fits the task's ``max_tool_calls`` (the loader checks it).
        None for a task without a reference (the oracle cannot play it) or another agent.
        """
        if task.reference is None:
            return None
        calls = len(task.reference.calls)
        asks = len(task.reference.asks) if task.user is not None else 0
        if agent == "plan-execute":
            return 2 * calls + 2 + asks
        if agent == "single":
            return calls + 1 + asks
        return None

    @staticmethod
    def _reference(request: ModelRequest) -> ReferenceSolution:
        task = request.task
        if task is None:
            raise ModelError("the oracle needs the task in the request (ModelRequest.task is None)")
        if task.reference is None:
            raise ModelError(
                f"task {task.id!r} has no reference solution, so the oracle cannot play it; "
                "add a 'reference' with 'calls' and 'answer' to the task"
            )
        return task.reference

    def _plan(self, request: ModelRequest, reference: ReferenceSolution) -> ModelResponse:
        metadata = request.metadata
        descriptions = metadata.get("catalog_descriptions") or metadata.get("tool_descriptions")
        descriptions = descriptions or {}
        steps = [oracle_step(c, descriptions) for c in reference.calls]
        if request.metadata.get("replan"):
            in_messages = sum(1 for n in _assistant_calls(request.messages) if n != SUBMIT_TOOL)
            own = set(steps)
            completed = sum(1 for s in request.metadata.get("completed") or [] if s in own)
            steps = steps[max(in_messages, completed) :]
        return ModelResponse(content=json.dumps({"steps": [*steps, FINAL_STEP]}), model=self.name)

    def _execute(self, request: ModelRequest, reference: ReferenceSolution) -> ModelResponse:
        names = _assistant_calls(request.messages)
        made = sum(1 for n in names if n != SUBMIT_TOOL)
        call_id = f"oracle_{len(names) + 1}"
        plan = request.metadata.get("plan") or []
        step = request.step_index or 0
        oracle_shape = bool(plan) and plan[-1] == FINAL_STEP
        ask = _pending_ask(request, reference, made)
        if oracle_shape and step < len(plan) - 1:
            if request.metadata.get("step_calls", 0) == 0 and made < len(reference.calls):
                if ask is not None:
                    return ModelResponse(content=ask, model=self.name)
                return self._call(call_id, reference.calls[made])
            return ModelResponse(content=_STEP_DONE, model=self.name)
        if ask is not None:
            return ModelResponse(content=ask, model=self.name)
        if made < len(reference.calls):
            return self._call(call_id, reference.calls[made])
        submit = ToolCall(call_id, SUBMIT_TOOL, json.dumps({"answer": reference.answer}))
        return ModelResponse(tool_calls=[submit], model=self.name)

    def _user(self, request: ModelRequest) -> ModelResponse:
        """Play the task's simulated user from its hidden facts (see the module rules)."""
        task = request.task
        if task is None or task.user is None:
            raise ModelError("the oracle plays a user only for a task with a 'user'")
        message = str(request.messages[-1].get("content") or "") if request.messages else ""
        facts = hidden_facts_asked(task.user, message)
        if facts:
            return ModelResponse(content=" ".join(facts), model=self.name)
        if message.rstrip().endswith("?"):
            return ModelResponse(content="Yes, please.", model=self.name)
        return ModelResponse(content=task.user.stop, model=self.name)

    def _call(self, call_id: str, call: ReferenceCall) -> ModelResponse:
        return ModelResponse(
            tool_calls=[ToolCall(call_id, call.tool, json.dumps(call.args))], model=self.name
        )
