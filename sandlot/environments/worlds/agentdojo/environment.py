"""The AgentDojo worlds: one per AgentDojo suite (``agentdojo-banking``,
``agentdojo-slack``, ``agentdojo-travel``, ``agentdojo-workspace``).

The state of an episode is the suite's own environment object (a pydantic model AgentDojo
loads from its YAML), a private copy with no prompt injection, after the user task's
``init_environment``; the tools are the suite's functions, run by AgentDojo's
``FunctionsRuntime`` on that object. A copy of the state as the episode found it is kept
(``pre_environment``) for the ``agentdojo_utility`` check.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

from sandlot.environments.base import Environment
from sandlot.environments.tasks import StrictStateCheck, Task
from sandlot.environments.worlds.agentdojo.source import (
    VERSION,
    default_environment,
    get_suite,
    task_environment,
)
from sandlot.environments.worlds.agentdojo.tools import agentdojo_tool
from sandlot.tools import Toolset

if TYPE_CHECKING:  # pragma: no cover
    from agentdojo.functions_runtime import FunctionsRuntime

__all__ = [
    "WORLDS_BY_SUITE",
    "AgentDojoBanking",
    "AgentDojoEnvironment",
    "AgentDojoSlack",
    "AgentDojoStart",
    "AgentDojoTravel",
    "AgentDojoWorkspace",
    "SecretChanged",
    "system_message",
]

REDACTED = "[REDACTED]"  # what the trace store writes for a secret-named field
# Fields the trace store may redact (it hides values under keys named like a credential):
# their digests go into the snapshot, so that re-scoring can restore an unchanged one.
_SECRETISH = re.compile(r"pass|token|secret|key|auth|credential", re.IGNORECASE)

_NO_STATE_CHECK = (
    "the AgentDojo worlds are checked by the user task's own utility check: use "
    "{type: agentdojo_utility, suite: ..., user_task: ...} instead of a state check"
)


class SecretChanged(ValueError):
    """A stored snapshot lacks a secret-named field's value (the trace store redacted it)
    and the episode changed it: the environment cannot be rebuilt from the snapshot."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _secret_digests(node: Any, path: str = "") -> list[list[str]]:
    """``[path, sha256]`` of every string under a key named like a credential."""
    out: list[list[str]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(value, str) and isinstance(key, str) and _SECRETISH.search(key):
            out.append([where, _digest(value)])
        elif isinstance(value, dict | list):
            out += _secret_digests(value, where)
    return out


def _restore(node: Any, before: Any, digests: dict[str, str], path: str = "") -> Any:
    """``node`` with each redacted value put back from ``before`` where its digest shows
    the episode left it unchanged.

    Raises:
        SecretChanged: a redacted value was changed by the episode.
    """
    if isinstance(node, dict):
        pairs = ((k, before.get(k) if isinstance(before, dict) else None) for k in node)
        return {k: _restore(node[k], b, digests, f"{path}.{k}" if path else k) for k, b in pairs}
    if isinstance(node, list):
        olds = before if isinstance(before, list) else []
        return [
            _restore(
                v, olds[i] if i < len(olds) else None, digests, f"{path}.{i}" if path else str(i)
            )
            for i, v in enumerate(node)
        ]
    if node == REDACTED and path in digests:
        if isinstance(before, str) and _digest(before) == digests[path]:
            return before
        raise SecretChanged(
            f"{path} was redacted in the trace and the episode changed it: re-run the "
            "episode to check it"
        )
    return node


def _rebuild(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """``model`` validated from its JSON dump, each field then set to its own dumped value:
    some of AgentDojo's models rebuild a field when validated (the calendar's ``events``
    from its ``initial_events``), which would lose what the episode changed."""
    built = model.model_validate(data)
    for name, field in model.model_fields.items():
        if name not in data:
            continue
        kind: Any = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            value = _rebuild(kind, data[name]) if isinstance(data[name], dict) else data[name]
        else:
            value = TypeAdapter(kind).validate_python(data[name])
        object.__setattr__(built, name, value)
    return built


class AgentDojoStart(BaseModel):
    """Where an AgentDojo episode starts: the suite's environment, as the user task
    ``user_task`` of benchmark ``version`` initialises it (none: as the suite ships it)."""

    model_config = ConfigDict(extra="forbid")
    version: str = VERSION
    user_task: str | None = None


@cache
def system_message() -> str:
    """AgentDojo's default system message (its ``system_messages.yaml``)."""
    import importlib.resources

    import yaml

    path = importlib.resources.files("agentdojo") / "data" / "system_messages.yaml"
    messages = yaml.safe_load(path.read_text(encoding="utf-8"))
    return str(messages["default"]).strip()


@cache
def _toolset(suite: str) -> Toolset:
    return Toolset(f"agentdojo-{suite}", [agentdojo_tool(f) for f in get_suite(suite).tools])


class AgentDojoEnvironment(Environment[Any, AgentDojoStart, StrictStateCheck]):
    """An AgentDojo suite as a world (see the module's docstring). Subclasses name the
    suite; this class is not a world by itself."""

    name = "agentdojo"
    suite: ClassVar[str] = ""
    initial_state_model = AgentDojoStart

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.pre_environment: Any = None
        self.runtime: FunctionsRuntime | None = None

    @classmethod
    def default_toolset(cls) -> Toolset:
        return _toolset(cls.suite)

    async def reset(self, task: Task) -> None:
        from agentdojo.functions_runtime import FunctionsRuntime

        start = self.check_initial_state(task)
        self.task = task
        if start.user_task is None:
            get_suite(self.suite, start.version)  # a bad version fails here too
            self.state = default_environment(self.suite)
        else:
            self.state = task_environment(self.suite, start.version, start.user_task)
        self.pre_environment = self.state.model_copy(deep=True)
        self.runtime = FunctionsRuntime(get_suite(self.suite).tools)

    def system_prompt(self, task: Task) -> str:
        """AgentDojo's default system message, then the task's ``policy_addition``."""
        parts = (system_message(), task.policy_addition.strip())
        return "\n\n".join(part for part in parts if part)

    def snapshot(self) -> dict[str, Any]:
        """``{"environment": the environment as JSON, "digests": [[path, sha256], ...]}``:
        the digests of its secret-named fields, which the trace store redacts."""
        if self.state is None:
            return {}
        dumped: dict[str, Any] = self.state.model_dump(mode="json")
        return {"environment": dumped, "digests": _secret_digests(dumped)}

    @classmethod
    def environment_from_snapshot(cls, snapshot: dict[str, Any], before: Any) -> Any:
        """The suite's environment object a stored ``snapshot()`` was taken of; a field the
        trace store redacted is restored from ``before`` (the environment the episode
        started from) when its digest shows it unchanged.

        Raises:
            SecretChanged: a redacted field was changed by the episode.
        """
        digests = {path: digest for path, digest in snapshot.get("digests") or []}
        data = _restore(snapshot.get("environment") or {}, before.model_dump(mode="json"), digests)
        return _rebuild(get_suite(cls.suite).environment_type, data)

    async def check_state(self, check: StrictStateCheck) -> tuple[bool, Any]:
        return False, {"error": _NO_STATE_CHECK}

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: StrictStateCheck) -> tuple[bool, Any]:
        return False, {"error": _NO_STATE_CHECK}


class AgentDojoBanking(AgentDojoEnvironment):
    """AgentDojo's banking suite: an account, its transactions, files and user info."""

    name = "agentdojo-banking"
    suite = "banking"
    description = "AgentDojo's banking suite (agentdojo): accounts, transfers, files."


class AgentDojoSlack(AgentDojoEnvironment):
    """AgentDojo's slack suite: channels, users, messages and web pages."""

    name = "agentdojo-slack"
    suite = "slack"
    description = "AgentDojo's slack suite (agentdojo): channels, messages, web pages."


class AgentDojoTravel(AgentDojoEnvironment):
    """AgentDojo's travel suite: hotels, restaurants, car rentals, calendar and e-mail."""

    name = "agentdojo-travel"
    suite = "travel"
    description = "AgentDojo's travel suite (agentdojo): hotels, restaurants, cars, bookings."


class AgentDojoWorkspace(AgentDojoEnvironment):
    """AgentDojo's workspace suite: e-mail, calendar and a cloud drive."""

    name = "agentdojo-workspace"
    suite = "workspace"
    description = "AgentDojo's workspace suite (agentdojo): e-mail, calendar, cloud drive."


WORLDS_BY_SUITE: dict[str, type[AgentDojoEnvironment]] = {
    cls.suite: cls
    for cls in (AgentDojoBanking, AgentDojoSlack, AgentDojoTravel, AgentDojoWorkspace)
}
