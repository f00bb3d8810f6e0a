"""The episode graph: its state, nodes, prompts, retriever and the run context the nodes
get. Depends on the models; knows nothing of running many episodes or of traces on
disk beyond the recorder it is handed."""

__all__: list[str] = []
