"""Running calls on BFCL's backend instances the way BFCL's checker does.

* instances: one per involved class, loaded from the entry's ``initial_config`` with the
  class's own ``_load_scenario`` (``MathAPI`` is stateless: none);
* a call runs the named public method of the instance that has it; its result is what
  BFCL records: a string as it is, a dict as ``json.dumps`` (``str`` when that fails),
  anything else as ``str``; an exception as ``"Error during execution: <message>"``;
* two instances hold the same state when every public attribute of the reference one
  (``vars``, names not starting with ``_``) is equal (``==``) in the other.
"""

from __future__ import annotations

import ast
import copy
import datetime
import inspect
import json
from collections.abc import Callable
from typing import Any

from sandlot.environments.worlds.bfcl.source import backend_class

__all__ = [
    "ERROR_PREFIX",
    "STATELESS",
    "Instances",
    "compare_instances",
    "format_call",
    "load_instances",
    "method_table",
    "parse_call",
    "plain",
    "render",
    "run_call",
]

ERROR_PREFIX = "Error during execution: "
STATELESS = frozenset({"MathAPI"})
# Names BFCL's executor refuses to evaluate, whatever the class.
_REFUSED = frozenset({"kill", "exit", "quit", "remove", "unlink", "popen", "Popen", "run"})

Instances = dict[str, Any]


def load_instances(
    classes: list[str], config: dict[str, Any], *, long_context: bool = False
) -> Instances:
    """Fresh backend instances for ``classes``, each loaded from its part of ``config``
    (deep-copied, as BFCL does)."""
    instances: Instances = {}
    for name in classes:
        instance = backend_class(name)()
        if name not in STATELESS:
            instance._load_scenario(copy.deepcopy(config.get(name, {})), long_context=long_context)
        instances[name] = instance
    return instances


def method_table(instances: Instances) -> dict[str, Callable[..., Any]]:
    """Every public method of the instances by name (a later class wins a clash, as in
    BFCL; the shipped classes have none)."""
    table: dict[str, Callable[..., Any]] = {}
    for instance in instances.values():
        for name, method in inspect.getmembers(instance, predicate=inspect.ismethod):
            if not name.startswith("_"):
                table[name] = method
    return table


def render(value: Any) -> str:
    """A method's return value as BFCL's executor records it."""
    if type(value) is str:
        return value
    if type(value) is dict:
        try:
            return json.dumps(value)
        except Exception:
            return str(value)
    return str(value)


def run_call(
    table: dict[str, Callable[..., Any]], name: str, args: dict[str, Any]
) -> tuple[bool, str]:
    """Run one call: ``(ran without raising, BFCL's result string)``."""
    try:
        if name in _REFUSED:
            raise Exception(f"Function call {name} is not allowed.")
        method = table.get(name)
        if method is None:
            raise NameError(f"name {name!r} is not defined")
        return True, render(method(**args))
    except Exception as exc:
        return False, f"{ERROR_PREFIX}{exc}"


def compare_instances(model: Any, reference: Any) -> dict[str, Any]:
    """The public attributes of ``reference`` whose value differs in ``model``, each
    ``{"model": ..., "reference": ...}`` in plain form ({} when the states are the same)."""
    differences: dict[str, Any] = {}
    for attr in vars(reference):
        if attr.startswith("_"):
            continue
        mine, theirs = getattr(model, attr, None), getattr(reference, attr)
        if mine != theirs:
            differences[attr] = {"model": plain(mine), "reference": plain(theirs)}
    return differences


def plain(value: Any, _path: tuple[int, ...] = ()) -> Any:
    """A backend value as JSON-able data: objects as their public attributes (an object
    already being rendered, e.g. a directory's parent, as its name), dates as ISO text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if id(value) in _path:
        return f"<{type(value).__name__} {getattr(value, 'name', '')}>".replace(" >", ">")
    path = (*_path, id(value))
    if isinstance(value, dict):
        return {str(k): plain(v, path) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [plain(v, path) for v in items]
    if hasattr(value, "__dict__"):
        return {k: plain(v, path) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def parse_call(text: str, table: dict[str, Callable[..., Any]]) -> tuple[str, dict[str, Any]]:
    """A BFCL call string (``sort('final_report.pdf')``, ``cd(folder='..')``) as the
    method's name and keyword arguments (positional ones named from its signature).

    Raises:
        ValueError: not a call of a name with literal arguments, or more positional
            arguments than the method takes.
    """
    node = ast.parse(text.strip(), mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a function call: {text!r}")
    name = node.func.id
    args: dict[str, Any] = {}
    if node.args:
        method = table.get(name)
        if method is None:
            raise ValueError(f"{text!r}: no method {name!r} to name its positional arguments")
        params = [
            p.name
            for p in inspect.signature(method).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        if len(node.args) > len(params):
            raise ValueError(f"{text!r}: {name} takes {len(params)} positional arguments")
        for param, arg in zip(params, node.args, strict=False):
            args[param] = ast.literal_eval(arg)
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"{text!r}: **arguments are not supported")
        args[keyword.arg] = ast.literal_eval(keyword.value)
    return name, args


def format_call(name: str, args: dict[str, Any]) -> str:
    """A call as BFCL's decoded form writes it: ``name(k=v, ...)`` with Python literals."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
