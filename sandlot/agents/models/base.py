"""The one async model interface, as the agents import it.

It is defined beside the worlds (:mod:`sandlot.environments.model`) because a checklist's
judge items call a model too, and the worlds sit below the agents.
"""

from sandlot.environments.model import (
    MAX_TOKEN_COUNT,
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    Price,
    Purpose,
    Usage,
)

__all__ = [
    "MAX_TOKEN_COUNT",
    "Model",
    "ModelError",
    "ModelRequest",
    "ModelResponse",
    "Price",
    "Purpose",
    "Usage",
]
