"""Finding and removing sandbox containers that a killed run left behind.

Every sandbox container carries labels naming its owner: ``sandlot.host`` and
``sandlot.pid`` (the process that created it) and ``sandlot.created`` (when). A container
is left over when its owner is on this host and no longer runs — or when the pid now
belongs to a process that started after the container was created (pid reuse).
"""

from __future__ import annotations

import socket
from typing import Any

from sandlot.environments.sandbox.docker import LABEL
from sandlot.environments.sandbox.image import docker_client
from sandlot.environments.sandbox.processes import process_alive

__all__ = ["cleanup", "leftover_containers", "owner_alive"]


def owner_alive(labels: dict[str, str]) -> bool:
    """Does the process that created a container (per its labels) still run?

    Containers of other hosts count as alive: they are not ours to judge.
    """
    if labels.get(f"{LABEL}.host") != socket.gethostname():
        return True
    try:
        pid = int(labels.get(f"{LABEL}.pid", "0"))
    except ValueError:
        return False
    try:
        created = float(labels.get(f"{LABEL}.created", "0"))
    except ValueError:
        created = 0.0
    # its creator was running when it was created: a process started later reuses the pid
    return process_alive(pid, running_at=created or None)


def leftover_containers(
    *,
    run_id: str | None = None,
    all: bool = False,  # noqa: A002 - mirrors the CLI's --all
    client: Any = None,
) -> list[Any]:
    """Labelled containers whose owning process is gone (or of ``run_id``, or ``all``)."""
    client = client or docker_client()
    # Sparse: the list call alone, no inspect per container — another process removing
    # one of them meanwhile must not make this fail with NotFound.
    found = client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}=1"})
    if all:
        return found
    if run_id is not None:
        return [c for c in found if _labels(c).get(f"{LABEL}.run") == run_id]
    return [c for c in found if not owner_alive(_labels(c))]


def _labels(container: Any) -> dict[str, str]:
    return container.attrs.get("Labels") or {}


def cleanup(
    *,
    run_id: str | None = None,
    all: bool = False,  # noqa: A002 - mirrors the CLI's --all
    client: Any = None,
) -> int:
    """Remove leftover sandbox containers; returns how many were removed.

    Args:
        run_id: remove the containers of this run (whatever their owner's state).
        all: remove every sandlot container on the engine, live runs' included.
        client: a Docker SDK client (default: from the environment).
    """
    removed = 0
    for container in leftover_containers(run_id=run_id, all=all, client=client):
        try:
            container.remove(force=True)
            removed += 1
        except Exception:  # removed meanwhile by someone else
            continue
    return removed
