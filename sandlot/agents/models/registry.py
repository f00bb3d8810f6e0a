"""Build a model from a spec string, as the CLI and ``run(model="...")`` take them.

Forms::

    oracle                          play each task's reference solution
    null                            answer nothing (no text, no tool call): the floor of every score
    openai                          OpenAI-compatible endpoint, model from SANDLOT_MODEL / OPENAI_MODEL
    openai:NAME                     ... with that model name (base_url, api_key, timeout, ... as options)
    llama:SOURCE                    a GGUF file (or gemma3-270m, smollm2-135m from PyPI) served
                                    here by llama.cpp's OpenAI-compatible server (sandlot[llm])
    scripted:path/to/file.py:ATTR   a ScriptedModel, any Model, or a function (wrapped in ScriptedModel)
    scripted:package.module:ATTR    the same, from an importable module
    replay:DB_PATH:EPISODE_ID       the model outputs recorded for that episode
    KIND[:REST]                     a provider registered in sandlot.registry.MODELS, in code
                                    or by a package (entry-point group ``sandlot.models``)

Each built-in kind is a provider registered the same way a package's is
(docs/guides/model-provider.md).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from sandlot.agents.models.base import Model
from sandlot.agents.models.null import NullModel
from sandlot.agents.models.oracle import OracleModel
from sandlot.agents.models.scripted import ScriptedModel
from sandlot.registry import MODELS

__all__ = [
    "MODEL_SPECS",
    "llama_provider",
    "make_model",
    "null_provider",
    "openai_provider",
    "oracle_provider",
    "replay_provider",
    "scripted_provider",
]

MODEL_SPECS = (
    "oracle",
    "null",
    "openai",
    "openai:NAME",
    "llama:GGUF_PATH_OR_PACKAGED_NAME",
    "scripted:path/to/file.py:ATTR",
    "scripted:package.module:ATTR",
    "replay:DB_PATH:EPISODE_ID",
)


def _unknown(spec: str, why: str) -> ValueError:
    forms = "\n  ".join(MODEL_SPECS)
    return ValueError(f"bad model spec {spec!r}: {why}. Use one of:\n  {forms}")


def make_model(spec: str, **options: Any) -> Model:
    """Build the model ``spec`` names: ``KIND`` or ``KIND:REST``, where KIND is a model
    provider registered in :data:`sandlot.registry.MODELS` (the built-in ones below, one
    registered in code, or one a package publishes in the ``sandlot.models`` entry-point
    group) and REST is what that provider makes of it.

    Args:
        spec: One of the forms in :data:`MODEL_SPECS`, or ``KIND[:REST]`` of a
            registered provider.
        **options: For ``openai``: OpenAIModel's keyword options (base_url, api_key,
            timeout, max_retries, temperature, ...). Other built-in kinds take none.

    Raises:
        ValueError: The spec has none of the forms, or its parts cannot be loaded (an
            unknown kind lists the registered ones; a provider whose code fails to
            import is an ``ExtensionLoadError``, a ValueError too).
    """
    kind, _, rest = spec.strip().partition(":")
    if not kind:
        raise _unknown(spec, "empty spec")
    if kind not in MODELS:
        close = difflib.get_close_matches(kind, MODELS.names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise _unknown(
            spec, f"unknown kind {kind!r}{hint} (registered: {', '.join(MODELS.names())})"
        )
    model = MODELS.get(kind)(rest, **options)
    if not isinstance(model, Model):
        raise ValueError(f"model provider {kind!r} returned a {type(model).__name__}, not a Model")
    return model


def oracle_provider(rest: str, **options: Any) -> Model:
    """oracle: play each task's reference solution."""
    _bare("oracle", rest, options)
    return OracleModel()


def null_provider(rest: str, **options: Any) -> Model:
    """null: answer nothing (no text, no tool call)."""
    _bare("null", rest, options)
    return NullModel()


def llama_provider(rest: str, **options: Any) -> Model:
    """llama:SOURCE: a GGUF model (a path, or gemma3-270m / smollm2-135m from their PyPI
    packages) served on this machine by llama.cpp's OpenAI-compatible server."""
    if not rest:
        raise _unknown(
            "llama:", "the llama model needs a GGUF file or a packaged model: llama:gemma3-270m"
        )
    from sandlot.agents.models.llama import LlamaModel

    return LlamaModel(rest, **options)


def openai_provider(rest: str, **options: Any) -> Model:
    """openai[:NAME]: a model behind an OpenAI-compatible endpoint."""
    from sandlot.agents.models.openai import OpenAIModel

    return OpenAIModel(rest or None, **options)


def scripted_provider(rest: str, **options: Any) -> Model:
    """scripted:SOURCE:ATTR: a ScriptedModel, Model or function from a file or module."""
    spec = f"scripted:{rest}"
    if not rest:
        raise _unknown(
            spec,
            "unknown kind 'scripted' with nothing after it; it needs a file or module "
            "and an attribute",
        )
    _no_options(spec, options)
    return _scripted(spec, rest)


def replay_provider(rest: str, **options: Any) -> Model:
    """replay:DB_PATH:EPISODE_ID: the model outputs recorded for that episode."""
    spec = f"replay:{rest}"
    _no_options(spec, options)
    from sandlot.agents.models.replay import ReplayModel

    db_path, episode_id = _split_replay(rest)
    if not db_path or not episode_id:
        raise _unknown(spec, "replay needs both a database path and an episode id")
    return ReplayModel.from_trace(db_path, episode_id)


def _bare(kind: str, rest: str, options: dict[str, Any]) -> None:
    if rest:
        raise _unknown(f"{kind}:{rest}", f"unknown kind {kind!r} with arguments; it takes none")
    _no_options(kind, options)


def _no_options(spec: str, options: dict[str, Any]) -> None:
    if options:
        raise ValueError(
            f"model spec {spec!r} takes no options, got {sorted(options)}; "
            "options such as base_url/api_key apply to 'openai' models only"
        )


def _split_replay(rest: str) -> tuple[str, str]:
    """DB_PATH:EPISODE_ID where either may hold colons: the first prefix naming an
    existing file is the path; otherwise split at the last colon."""
    for i, char in enumerate(rest):
        if char == ":" and Path(rest[:i]).expanduser().is_file():
            return rest[:i], rest[i + 1 :]
    db_path, _, episode_id = rest.rpartition(":")
    return db_path, episode_id


def _scripted(spec: str, rest: str) -> Model:
    source, sep, attr = rest.rpartition(":")
    if not sep or not source or not attr:
        raise _unknown(
            spec, "scripted needs a file or module and an attribute, e.g. my_tests.py:model"
        )
    module = _load(spec, source)
    try:
        value = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"model spec {spec!r}: {source} has no attribute {attr!r}") from None
    if isinstance(value, Model):
        return value
    if isinstance(value, type) and issubclass(value, Model):
        return value()
    if callable(value):
        return ScriptedModel(value, name=f"scripted:{attr}")
    if isinstance(value, list | tuple):
        return ScriptedModel(list(value), name=f"scripted:{attr}")
    raise ValueError(
        f"model spec {spec!r}: {attr} is a {type(value).__name__}; "
        "it must be a Model, a function of the request, or a list of responses"
    )


def _load(spec: str, source: str) -> Any:
    if source.endswith(".py") or "/" in source or "\\" in source:
        path = Path(source).expanduser().resolve()
        if not path.is_file():
            raise ValueError(f"model spec {spec!r}: no such file {path}")
        name = f"_sandlot_scripted_{abs(hash(str(path)))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ValueError(f"model spec {spec!r}: cannot load {path} as Python")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # so dataclasses/pickling inside the file can find it
        module_spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(source)
    except ImportError as exc:
        raise ValueError(f"model spec {spec!r}: cannot import module {source!r}: {exc}") from exc
