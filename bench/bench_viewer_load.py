"""The viewer under load: requests per second with N concurrent clients, with and
without 300 half-open connections held open, and the server process's thread count.

The server runs in its own process (so the clients do not share its interpreter); the
clients are one asyncio loop here, each client a kept-alive connection that asks for a
page of a run's episodes again and again. A request with no answer within 20 s counts
as unanswered.

    python bench/bench_viewer_load.py
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandlot.traces.schema import SCHEMA_SQL

__all__ = ["build", "main"]

EPISODES = 500
SECONDS = 8.0  # per scenario (less than the idle timeout: held sockets stay held)
ANSWER_WITHIN = 20.0
PATH = "/api/runs/run/episodes?limit=50&sort=score&desc=1"
SERVER = """
import sys
from sandlot.traces.viewer.server import ViewerServer
server = ViewerServer(sys.argv[1], port=0)
print(server.httpd.server_address[1], flush=True)
server.httpd.serve_forever()
"""


def build(path: Path) -> None:
    """A run of EPISODES episodes of three events each (plain sqlite3, schema.py)."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_SQL)
    conn.execute(
        "INSERT INTO runs (id, started, ended, status, model, agent) "
        "VALUES ('run', 1, 900, 'done', 'm', 'a')"
    )
    conn.executemany(
        "INSERT INTO episodes (id, run_id, task_id, epoch, status, outcome, success, score, "
        "model_calls, tool_calls, tokens, duration, model, started) "
        "VALUES (?, 'run', ?, 0, 'done', ?, ?, ?, 5, 4, 900, 1.5, 'm', ?)",
        [
            (
                f"e{i}",
                f"task-{i % 50:03d}",
                "passed" if i % 3 else "failed",
                int(i % 3 != 0),
                (i % 10) / 10,
                i,
            )
            for i in range(EPISODES)
        ],
    )
    conn.executemany(
        "INSERT INTO events (episode_id, seq, parent, ts, kind, name, payload, duration) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (f"e{i}", k, None if k == 0 else 0, i + k, kind, kind, json.dumps({"k": k}), 0.01)
            for i in range(EPISODES)
            for k, kind in enumerate(("node", "model_call", "tool_call"))
        ],
    )
    conn.commit()
    conn.close()


async def _client(port: int, stop_at: float, counts: dict[str, int]) -> None:
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    reader = writer = None
    while time.monotonic() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), ANSWER_WITHIN
                )
            assert reader is not None
            writer.write(request)
            await asyncio.wait_for(_response(reader), ANSWER_WITHIN)
            counts["answered"] += 1
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
            counts["unanswered"] += 1
            if writer is not None:
                writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


async def _response(reader: asyncio.StreamReader) -> None:
    status = await reader.readline()
    if not status.startswith(b"HTTP/1.1 200"):
        raise ValueError(status)
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


async def _scenario(port: int, pid: int, clients: int) -> dict[str, float]:
    counts = {"answered": 0, "unanswered": 0}
    start = time.monotonic()
    tasks = [asyncio.create_task(_client(port, start + SECONDS, counts)) for _ in range(clients)]
    peak = 0
    while not all(t.done() for t in tasks):
        peak = max(peak, _threads(pid))
        await asyncio.sleep(0.2)
    elapsed = time.monotonic() - start
    return {
        "rps": counts["answered"] / elapsed,
        "unanswered": counts["unanswered"],
        "threads": peak,
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "load.db"
        build(db)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a client that gave up: a broken pipe, said at length
            text=True,
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            print("| clients | half-open held | requests/s | unanswered (20 s) | server threads |")
            print("| --- | --- | --- | --- | --- |")
            for held in (0, 300):
                sockets = []
                for i in range(held):
                    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
                    if i % 2:
                        sock.sendall(b"GET /api/ru")
                    sockets.append(sock)
                for clients in (10, 100):
                    r = asyncio.run(_scenario(port, server.pid, clients))
                    print(
                        f"| {clients} | {held} | {r['rps']:.0f} | {r['unanswered']:.0f} "
                        f"| {r['threads']:.0f} |",
                        flush=True,
                    )
                for sock in sockets:
                    sock.close()
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
