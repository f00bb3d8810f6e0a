"""After the fact: replaying, resuming and re-scoring stored episodes. Depends on running
and on the trace store."""

__all__: list[str] = []
