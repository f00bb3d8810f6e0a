"""The store's hand-off: a tool that transfers the customer to a human agent, which ends
the episode (it raises EndEpisode; see sandlot.tools.end)."""

from __future__ import annotations

from sandlot.tools import ToolError, tool
from sandlot.tools.end import EndEpisode

__all__ = ["transfer_to_human_agent"]


@tool
def transfer_to_human_agent(summary: str) -> str:
    """Transfer the customer to a human agent now; this ends your conversation with them.
    For a customer who asks to speak to a person, or who reports fraud (an order or a
    charge they did not make). Not for a manager's decision or a complaint the customer
    can wait on: open a support ticket for those.

    Args:
        summary: For the human agent: who the customer is, what they want and what you
            found (ids, statuses, amounts).
    """
    text = summary.strip()
    if not text:
        raise ToolError("the summary is empty; say who the customer is and what they need")
    raise EndEpisode(f"Transferred to a human agent, who has the summary: {text}")
