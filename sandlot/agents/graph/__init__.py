"""The episode graph: its state, nodes (planner, retriever, executor, finish), prompts
and the run context the nodes get; the retrievers themselves are in sandlot.retrieval.
Depends on the models; knows nothing of running many episodes or of traces on disk
beyond the recorder it is handed."""

__all__: list[str] = []
