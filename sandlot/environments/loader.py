"""Loading task files (YAML or JSON) with errors that name the file, the task and the field.

A file holds one task (a mapping with ``id``), a list of tasks, or a mapping
``{environment, defaults, tasks}`` whose ``environment`` and ``defaults`` (merged under
each task, key by key) apply to the tasks that do not set them. Every problem of a file
is reported at once — a task author fixes a file in one pass, not one error per run —
and :func:`load_tasks` reports the problems of every file it was given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sandlot.environments.loader_checks import Problem, task_problems, world_problems
from sandlot.environments.loader_errors import TaskFileError, describe_validation_error
from sandlot.environments.tasks import Task
from sandlot.errors import ExtensionLoadError, UserError
from sandlot.tools.suggest import close_path

__all__ = [
    "TASK_FILE_SUFFIXES",
    "TaskFileError",
    "load_task_file",
    "load_tasks",
    "task_set_spec",
]

TASK_FILE_SUFFIXES = (".yaml", ".yml", ".json")
_TOP_LEVEL = ("environment", "defaults", "tasks")


# libyaml's parser is ~5x faster than the pure-Python one on large task files.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """A safe loader that refuses duplicate keys: plain YAML keeps the last one silently,
    which drops a checklist ``check`` or a task field without a word."""


def _mapping_without_duplicates(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> Any:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may repeat keys
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            if key in first_line:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first at line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        except TypeError:  # an unhashable key; construct_mapping reports it
            pass
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} in a JSON object")
        out[key] = value
    return out


# Deeper nesting than any task needs. libyaml's C composer recurses without a guard and
# crashes the interpreter (a segfault, not an exception) somewhere past ~20,000 levels.
_MAX_YAML_DEPTH = 1000
_TOO_DEEP = "the file is nested too deeply to load; flatten its lists and mappings"


def _yaml_too_deep(text: str) -> bool:
    """Whether the YAML nests more than _MAX_YAML_DEPTH collections, found from the
    parser's events (libyaml's parser keeps explicit stacks, so it cannot crash)."""
    openers = sum(text.count(c) for c in "[{-:?")
    if openers <= _MAX_YAML_DEPTH:  # too few collection starts to nest that deep
        return False
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > _MAX_YAML_DEPTH:
                    return True
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # libyaml 0.2.6 (PyYAML 6.0.4's wheels) refuses 1000 levels itself, before our
        # count gets there: the same verdict, said the same way
        if exc.problem == "exceeded maximum nesting depth":
            return True
        raise
    return False


# A task file is text a person writes: far below these. Past them a file is refused
# before it is built, so a small hostile file cannot take the run's memory — YAML
# aliases make a 659-byte file ("billion laughs") expand to billions of values.
MAX_TASK_FILE_BYTES = 64 * 2**20
MAX_TASK_FILE_VALUES = 2_000_000
_TOO_BIG = f"the file is larger than {MAX_TASK_FILE_BYTES // 2**20} MB; split it into several files"
_TOO_MANY = (
    f"the file expands to more than {MAX_TASK_FILE_VALUES:,} values (its aliases, *name, "
    "repeat what they name); write fewer or smaller repeats"
)


def _expanded_values(root: yaml.Node, limit: int) -> int:
    """How many values the document would have with every alias expanded (stopping past
    ``limit``); the composed graph shares an aliased node, so this is counted on the
    graph, children first, without building anything."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not children_done:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        sizes[id(node)] = min(limit + 1, 1 + sum(sizes.get(id(c), 0) for c in children))
    return sizes[id(root)]


def _load_yaml(path: Path, text: str) -> Any:
    """The YAML document, refused when its aliases expand past MAX_TASK_FILE_VALUES."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "*" in text and _expanded_values(node, MAX_TASK_FILE_VALUES) > MAX_TASK_FILE_VALUES:
            raise TaskFileError(path, [_TOO_MANY])
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _parse(path: Path) -> Any:
    try:
        if path.stat().st_size > MAX_TASK_FILE_BYTES:
            raise TaskFileError(path, [_TOO_BIG])
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskFileError(path, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    except OSError as exc:
        raise TaskFileError(path, [f"cannot read the file: {exc.strerror or exc}"]) from exc
    if not text.strip():
        raise TaskFileError(path, ["the file is empty; write a task, a list or {tasks: [...]}"])
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text, object_pairs_hook=_json_object)
        if _yaml_too_deep(text):
            raise TaskFileError(path, [_TOO_DEEP])
        return _load_yaml(path, text)
    except TaskFileError:  # already says what is wrong (a ValueError, like the ones below)
        raise
    except json.JSONDecodeError as exc:
        raise TaskFileError(
            path, [f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"]
        ) from exc
    except ValueError as exc:  # a duplicate key in JSON
        raise TaskFileError(path, [f"invalid JSON: {exc}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise TaskFileError(path, [f"invalid YAML{where}: {detail}"]) from exc


def _entries(path: Path, data: Any) -> list[Any]:
    """The file's task mappings, with the file's environment and defaults merged in."""
    if isinstance(data, dict) and "tasks" in data:
        extra = sorted(set(data) - set(_TOP_LEVEL), key=str)
        problems = []
        if extra:
            problems.append(
                f"unknown top-level key(s) {extra}; a file with 'tasks' may also have only "
                "'environment' and 'defaults'"
            )
        tasks, defaults = data["tasks"], data.get("defaults") or {}
        if not isinstance(tasks, list):
            problems.append(f"'tasks' must be a list of tasks, got {type(tasks).__name__}")
        if not isinstance(defaults, dict):
            problems.append(f"'defaults' must be a mapping, got {type(defaults).__name__}")
        elif "id" in defaults:
            problems.append("'defaults' may not set 'id'; every task needs its own")
        if problems:
            raise TaskFileError(path, problems)
        defaults = dict(defaults)
        if "environment" in data:
            defaults.setdefault("environment", data["environment"])
        # A shallow merge: a task's own key replaces the default's value entirely.
        entries = [{**defaults, **t} if isinstance(t, dict) else t for t in tasks]
    elif isinstance(data, list):
        entries = data
    elif isinstance(data, dict):
        entries = [data]
    else:
        raise TaskFileError(
            path,
            [
                "expected a task (a mapping with 'id'), a list of tasks or a mapping with "
                f"'tasks', got {type(data).__name__}"
            ],
        )
    if not entries:
        raise TaskFileError(path, ["the file holds no tasks"])
    return entries


def _label(task_id: Any, index: int) -> str:
    if isinstance(task_id, str) and task_id:
        return f"task {task_id!r}"
    return f"task #{index + 1} (no id)" if task_id is None else f"task #{index + 1}"


def _world(name: str) -> type[Any] | str | None:
    """The environment class, None to skip world checks, or why the world is unusable."""
    from sandlot.environments.base import environment_names, get_environment_class

    known = environment_names()
    if name not in known:
        return f"unknown environment {name!r}; known environments: {', '.join(known)}"
    try:
        cls = get_environment_class(name)
        cls.default_toolset()
    except ExtensionLoadError as exc:  # a run would fail on it too: say so now
        return str(exc)
    except Exception as exc:  # a broken world would fail every episode: say so now
        return f"environment {name!r} could not be loaded: {type(exc).__name__}: {exc}"
    return cls


class _Collector:
    """Problems of one file, each with its task label; remembers the first for the
    error's ``task_id`` and ``field`` attributes."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.first: tuple[str | None, str | None] | None = None

    def add(self, label: str, task_id: Any, field: str | None, message: str) -> None:
        where = f"{label}, field {field}" if field else label
        self.lines.append(f"{where}: {message}")
        if self.first is None:
            self.first = (task_id if isinstance(task_id, str) else None, field)


def load_task_file(
    path: str | Path, *, check_environments: bool = True, extra_tools: Iterable[Any] = ()
) -> list[Task]:
    """The tasks of one file, each with ``source`` set to the file's path.

    Args:
        path: A .yaml, .yml or .json file.
        check_environments: Also check each task against its world (skipped for a world
            whose module cannot be imported): that it exists, has the tools the task
            names, and accepts the task's initial_state and state checks.
        extra_tools: Tools (or tool names) the run adds to every world (``--tools``,
            entry points): a task may name them.

    Raises:
        TaskFileError: listing every problem of the file.
    """
    return _load_file(Path(path), _Options(check_environments, _tool_names(extra_tools)), {})


# Worlds by name, resolved once per load: listing the entry points reads every installed
# distribution's metadata, which costs more than parsing a task file.
_Worlds = dict[str, Any]  # name -> environment class, why it is unusable, or None (skip)


@dataclass(frozen=True)
class _Options:
    check_environments: bool
    extra_tools: tuple[Any, ...]


def _tool_names(tools: Iterable[Any]) -> tuple[Any, ...]:
    """Added tools as the world checks take them: a name, a Tool or a Toolset (whose
    ``worlds`` say which worlds get its tools)."""
    return tuple(tools)


def _load_file(path: Path, options: _Options, worlds: _Worlds) -> list[Task]:
    if not path.is_file():
        what = "a directory; use load_tasks" if path.is_dir() else "no such file"
        raise TaskFileError(path, [what])
    try:
        return _load_entries(path, _entries(path, _parse(path)), options, worlds)
    except RecursionError as exc:  # nesting deep enough to exhaust the interpreter's stack
        raise TaskFileError(path, [_TOO_DEEP]) from exc


def _load_entries(path: Path, entries: list[Any], options: _Options, worlds: _Worlds) -> list[Task]:
    found = _Collector()
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries):
        task_id = entry.get("id") if isinstance(entry, dict) else None
        label = _label(task_id, index)
        if not isinstance(entry, dict):
            found.add(label, None, None, f"expected a mapping, got {type(entry).__name__}")
            continue
        if isinstance(task_id, str) and task_id in seen:
            found.add(
                label,
                task_id,
                "id",
                f"task #{index + 1} repeats the id of {seen[task_id]} in this file",
            )
        elif isinstance(task_id, str):
            seen[task_id] = f"task #{index + 1}"
        try:
            task = Task.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                found.add(label, task_id, *describe_validation_error(err))
            continue
        task.source = str(path)
        _check_task(task, label, options, worlds, found)
        tasks.append(task)
    if found.lines:
        task_id, field = found.first or (None, None)
        raise TaskFileError(path, found.lines, task_id=task_id, field=field)
    return tasks


def _check_task(
    task: Task, label: str, options: _Options, worlds: _Worlds, found: _Collector
) -> None:
    """Record in ``found`` every problem of one task, its world's first: an unknown tool
    explains the reference mismatches that task_problems then reports about it."""
    problems: list[Problem] = []
    if options.check_environments:
        if task.environment not in worlds:
            worlds[task.environment] = _world(task.environment)
        world = worlds[task.environment]
        if isinstance(world, str):
            problems.append(("environment", world))
        elif world is not None:
            problems += world_problems(task, world, options.extra_tools)
    problems += task_problems(task)
    for field, message in problems:
        found.add(label, task.id, field, message)


_TASK_SET = re.compile(r"(?P<name>[A-Za-z][\w.-]*):(?P<subset>[^/\\]+)")


def task_set_spec(path: str | Path) -> tuple[str, str] | None:
    """``(name, subset)`` when ``path`` names a registered task set (``bfcl:multi_turn_base``)
    rather than a file: it has the form ``NAME:SUBSET``, no such file exists, and ``NAME``
    is registered in :data:`sandlot.registry.TASKSETS`."""
    from sandlot.registry import TASKSETS

    text = str(path)
    match = _TASK_SET.fullmatch(text)
    if match is None or Path(text).exists() or match["name"] not in TASKSETS:
        return None
    return match["name"], match["subset"]


def _load_task_set(
    spec: str, name: str, subset: str, options: _Options, worlds: _Worlds
) -> list[Task]:
    """The tasks a registered task set gives for ``subset``, checked like a file's."""
    from sandlot.registry import TASKSETS

    try:
        given = list(TASKSETS.get(name)(subset))
    except UserError as exc:
        raise TaskFileError(spec, [str(exc)]) from exc
    found = _Collector()
    tasks: list[Task] = []
    for index, item in enumerate(given):
        if not isinstance(item, Task):
            try:
                item = Task.model_validate(item)
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    found.add(_label(None, index), None, *describe_validation_error(err))
                continue
        item.source = spec
        _check_task(item, _label(item.id, index), options, worlds, found)
        tasks.append(item)
    if not given:
        found.add(spec, None, None, "the task set gave no tasks")
    if found.lines:
        task_id, field = found.first or (None, None)
        raise TaskFileError(spec, found.lines, task_id=task_id, field=field)
    return tasks


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        # Hidden files and folders (.github workflows, editor lock files) are not tasks.
        files = sorted(
            p
            for p in path.rglob("*")
            if p.suffix.lower() in TASK_FILE_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise TaskFileError(path, ["the directory holds no .yaml, .yml or .json files"])
        return files
    if not path.exists():
        close = close_path(path)
        hint = f"; did you mean {str(close)!r}?" if close is not None else ""
        raise TaskFileError(path, [f"no such file or directory{hint}"])
    if path.suffix.lower() not in TASK_FILE_SUFFIXES:
        raise TaskFileError(path, ["not a task file: name it .yaml, .yml or .json"])
    return [path]


def _take(
    loaded: list[Task],
    where: str,
    owner: dict[str, str],
    tasks: list[Task],
    errors: list[TaskFileError],
) -> None:
    """Add ``loaded`` (from file or task set ``where``) to ``tasks``, refusing ids that
    an earlier file or task set defined."""
    clashes = [t for t in loaded if t.id in owner]
    clash_ids = {t.id for t in clashes}
    if clashes:
        errors.append(
            TaskFileError(
                where,
                [f"task {t.id!r}, field id: the id is also used in {owner[t.id]}" for t in clashes],
                task_id=clashes[0].id,
                field="id",
            )
        )
    for task in loaded:
        owner.setdefault(task.id, where)
        if task.id not in clash_ids:
            tasks.append(task)


def load_tasks(
    paths: Iterable[str | Path], *, check_environments: bool = True, extra_tools: Iterable[Any] = ()
) -> list[Task]:
    """Every task in the given files and directories (searched recursively, sorted).

    Args:
        paths: Task files and directories (or a single one); a file reached twice is
            loaded once. ``NAME:SUBSET`` names a registered task set instead
            (:data:`sandlot.registry.TASKSETS`, e.g. ``bfcl:multi_turn_base``); its
            tasks are checked like a file's.
        check_environments: See :func:`load_task_file`.
        extra_tools: See :func:`load_task_file`.

    Raises:
        TaskFileError: listing the problems of every bad file (its ``errors`` holds one
            TaskFileError per file), including task ids used in two files.
    """
    if isinstance(paths, str | Path):  # one path, not its characters
        paths = [paths]
    tasks: list[Task] = []
    errors: list[TaskFileError] = []
    owner: dict[str, str] = {}  # task id -> the file that defined it first
    worlds: _Worlds = {}
    options = _Options(check_environments, _tool_names(extra_tools))
    done: set[Path] = set()
    for raw in paths:
        task_set = task_set_spec(raw)
        if task_set is not None:
            try:
                loaded = _load_task_set(str(raw), *task_set, options, worlds)
            except TaskFileError as exc:
                errors.append(exc)
                continue
            _take(loaded, str(raw), owner, tasks, errors)
            continue
        try:
            files = _files(Path(raw))
        except TaskFileError as exc:
            errors.append(exc)
            continue
        for file in files:
            if file.resolve() in done:
                continue
            done.add(file.resolve())
            try:
                loaded = _load_file(file, options, worlds)
            except TaskFileError as exc:
                errors.append(exc)
                continue
            _take(loaded, str(file), owner, tasks, errors)
    if errors:
        raise TaskFileError.combine(errors)
    return tasks
