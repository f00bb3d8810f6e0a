"""Models: one async interface (messages + tool schemas in, an assistant message out).

``OpenAIModel`` talks to any OpenAI-compatible endpoint, ``LlamaModel`` to a GGUF model it
serves on this machine, ``RoutedModel`` gives the planner and the executor a model each;
``ScriptedModel``,
``OracleModel``, ``NullModel`` and ``ReplayModel`` need no network. ``make_model(spec)`` builds one
from a spec string such as ``"oracle"`` or ``"openai:gpt-4o-mini"``. See docs/models.md.
"""

from typing import TYPE_CHECKING, Any

from sandlot.agents.models.base import (
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    Price,
    Purpose,
    Usage,
)
from sandlot.agents.models.null import NullModel
from sandlot.agents.models.oracle import FINAL_STEP, SUBMIT_TOOL, OracleModel, oracle_step
from sandlot.agents.models.registry import MODEL_SPECS, make_model
from sandlot.agents.models.replay import ReplayModel, response_from_payload
from sandlot.agents.models.routed import RoutedModel
from sandlot.agents.models.scripted import ResponseLike, ScriptedModel, call, text, to_response

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.models.llama import LlamaModel
    from sandlot.agents.models.openai import OpenAIModel

__all__ = [
    "FINAL_STEP",
    "LlamaModel",
    "MODEL_SPECS",
    "SUBMIT_TOOL",
    "Model",
    "ModelError",
    "ModelRequest",
    "ModelResponse",
    "NullModel",
    "OpenAIModel",
    "OracleModel",
    "Price",
    "Purpose",
    "ReplayModel",
    "ResponseLike",
    "RoutedModel",
    "ScriptedModel",
    "Usage",
    "call",
    "make_model",
    "oracle_step",
    "response_from_payload",
    "text",
    "to_response",
]


def __getattr__(name: str) -> Any:
    # The openai SDK takes most of a second to import; load it only when asked for.
    if name == "OpenAIModel":
        from sandlot.agents.models.openai import OpenAIModel

        return OpenAIModel
    if name == "LlamaModel":
        from sandlot.agents.models.llama import LlamaModel

        return LlamaModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
