"""A tool that ends the episode: it raises :class:`EndEpisode` with its result.

::

    @tool
    def transfer_to_human_agent(summary: str) -> str:
        \"\"\"Hand the conversation to a human agent; this ends it.\"\"\"
        raise EndEpisode(f"Transferred to a human agent: {summary}")

``invoke_tool`` turns it into a successful outcome whose content is the message, marked
with :func:`ends_episode`; the agent then makes no further model call and the episode
ends with end reason ``tool_ended`` (its checklist decides passed or failed). Anything
that only runs tools (the task tests, a reference snapshot, restoring a world on resume)
sees an ordinary successful call.
"""

from __future__ import annotations

from sandlot.errors import EndEpisode
from sandlot.tools.calls import ToolOutcome

__all__ = ["EndEpisode", "ends_episode"]


def ends_episode(outcome: ToolOutcome) -> str | None:
    """The message of a tool call that ended the episode, or None for any other call."""
    return outcome.ends_episode
