"""Running episodes: the runner, its results, checkpoints, sandbox pools and resuming an
episode from its checkpoint. Depends on the graph."""

__all__: list[str] = []
