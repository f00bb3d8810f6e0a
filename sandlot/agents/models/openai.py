"""A model behind any OpenAI-compatible chat completions endpoint, through the openai SDK.

Retries are the SDK's own: connection errors, timeouts, 408, 409, 429 and 5xx are
retried ``max_retries`` times with exponential backoff (0.5 s doubling to 8 s, with
jitter), honouring ``retry-after``/``retry-after-ms`` headers up to two minutes.
This module's absolute ``import openai`` reaches the SDK, not this file.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import replace
from typing import Any

import openai

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse, Usage
from sandlot.agents.models.prices import price_of
from sandlot.agents.models.text_tools import messages_as_text, parse_text_tool_calls
from sandlot.tools.calls import ToolCall, text_from_model, tool_call_from_model
from sandlot.traces.redact import hide_url_credentials

__all__ = ["OpenAIModel", "parse_completion"]

log = logging.getLogger(__name__)

# A local server (llama.cpp, vLLM, a test double) usually wants no key; the SDK insists on one.
_NO_KEY = "unused"


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class OpenAIModel(Model):
    """Chat completions with tool calling against OpenAI or any compatible server.

    Args:
        model: The model name; defaults to $SANDLOT_MODEL, then $OPENAI_MODEL.
        base_url: The API base URL (ending in ``/v1``); defaults to $OPENAI_BASE_URL,
            then the SDK's default (api.openai.com). Credentials in it
            (``http://user:password@host/v1``) are used, shown and stored replaced by
            ``[REDACTED]``, and the password is one of :meth:`secrets`.
        api_key: Defaults to $OPENAI_API_KEY. When a base_url is set and no key is
            found, the placeholder ``"unused"`` is sent (for local servers without auth).
        timeout: Seconds for one HTTP attempt.
        max_retries: Retries after the first attempt (the SDK's backoff).
        temperature: Sampling temperature; sent only when set (as are the next three).
        top_p: Nucleus sampling.
        max_tokens: The most tokens one reply may have (``max_tokens`` in the request).
        seed: A sampling seed, for servers that honour it.
        parallel_tool_calls: Sent only when set and tools are offered.
        tool_calls: ``"native"`` (the API's tool calling) or ``"text"``, for models
            without it: the tool schemas go into the system prompt, earlier calls and
            results are written as text, and calls are read from the reply's text
            (:mod:`~sandlot.agents.models.text_tools`); each reply read this way says so
            in its notes, and :meth:`describe` records the mode.
        extra_body: Extra JSON fields for servers with their own options.

    Raises:
        ModelError: No model name or no API key could be found.
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 4,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        parallel_tool_calls: bool | None = None,
        tool_calls: str = "native",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if tool_calls not in TOOL_CALL_MODES:
            raise ModelError(
                f"tool_calls must be one of {', '.join(TOOL_CALL_MODES)}, got {tool_calls!r}"
            )
        model = model or _env("SANDLOT_MODEL", "OPENAI_MODEL")
        if not model:
            raise ModelError(
                "no model name for the openai model: pass one ('openai:gpt-4o-mini', "
                "--model openai:NAME) or set SANDLOT_MODEL (or OPENAI_MODEL)"
            )
        base_url = base_url or _env("OPENAI_BASE_URL")
        api_key = api_key or _env("OPENAI_API_KEY") or (_NO_KEY if base_url else None)
        if not api_key:
            raise ModelError(
                "no API key for the openai model: set OPENAI_API_KEY (or pass api_key=...); "
                "for a local server without auth, set OPENAI_BASE_URL / base_url instead"
            )
        self.name = model
        # the list price of a well-known hosted model (None for others); set
        # ``price`` (--price-input ..., --prices FILE) to override it
        self.price = price_of(model)
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens
        self.seed = seed
        self.parallel_tool_calls = parallel_tool_calls
        self.tool_calls = tool_calls
        self.extra_body = dict(extra_body or {})
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )
        # the URL as errors, logs and traces show it: no user, no password
        self._shown_url, self._url_secrets = hide_url_credentials(str(self._client.base_url))

    def secrets(self) -> list[str]:
        key = self._client.api_key
        return [*([key] if key and key != _NO_KEY else []), *self._url_secrets]

    async def complete(self, request: ModelRequest) -> ModelResponse:
        params: dict[str, Any] = {"model": self.name, "messages": request.messages}
        as_text = self.tool_calls == "text"
        if as_text:
            params["messages"] = messages_as_text(request.messages, request.tools)
        elif request.tools:
            # An empty tools list is an error on some servers: omit it instead.
            params["tools"] = request.tools
            if self.parallel_tool_calls is not None:
                params["parallel_tool_calls"] = self.parallel_tool_calls
        for option in _SAMPLING:
            value = getattr(self, option)
            if value is not None:
                params[option] = value
        if self.extra_body:
            params["extra_body"] = self.extra_body
        where = f"model {self.name!r} at {self._shown_url}"
        retries = f"{self.max_retries} {'retry' if self.max_retries == 1 else 'retries'}"
        try:
            completion = await self._client.chat.completions.create(**params)
        except openai.APIStatusError as exc:
            status = exc.status_code
            # The SDK retries only these; other statuses fail at the first answer.
            tried = f" after {retries}" if status in (408, 409, 429) or status >= 500 else ""
            hint = "; check OPENAI_API_KEY / api_key" if status in (401, 403) else ""
            raise ModelError(
                f"{where} answered HTTP {status}{tried}: {_short(exc.message)}{hint}"
            ) from exc
        except openai.APITimeoutError as exc:
            raise ModelError(
                f"{where} timed out ({self.timeout} s per attempt, {retries}); "
                "raise the timeout or check the server"
            ) from exc
        except openai.APIConnectionError as exc:
            raise ModelError(
                f"cannot reach {where} after {retries}: {exc.__cause__ or exc}; "
                "check the base URL and that the server is running"
            ) from exc
        except json.JSONDecodeError as exc:
            raise ModelError(f"{where} sent a body that is not JSON: {exc}") from exc
        except RecursionError as exc:  # the SDK's json.loads gives up near 1,000 levels
            raise ModelError(
                f"{where} sent a body nested too deeply to read (more levels of lists and "
                "objects than Python's JSON decoder takes); expected a chat completion"
            ) from exc
        except UnicodeEncodeError as exc:  # before ValueError: it is one
            raise ModelError(
                f"the request to {where} holds text that cannot be encoded as UTF-8 "
                f"({exc.reason}: {exc.object[exc.start : exc.end]!r}, half of a UTF-16 "
                "pair); fix that text where it comes from (the task's instruction, a tool "
                "schema)"
            ) from exc
        except (openai.OpenAIError, ValueError) as exc:
            # APIResponseValidationError and the like: a body the SDK could not read.
            raise ModelError(
                f"{where} sent a response that cannot be read: {_short(str(exc))}"
            ) from exc
        response = parse_completion(completion, where)
        return _calls_from_text(response, request) if as_text else response

    async def check(self) -> None:
        """One request to the endpoint before a run — its model list — so that a wrong
        base URL, key or model name stops the run at once with one message. A server
        without a model list (404, 405, 501) or with an empty one is taken as it is: the
        model name is then checked by the first episode.

        Raises:
            ModelError: saying which of the three is wrong.
        """
        where = f"the endpoint {self._shown_url}"
        quick = self._client.with_options(max_retries=0, timeout=min(self.timeout, 30.0))
        try:
            listed = [m.id async for m in quick.models.list()]
        except openai.APIStatusError as exc:
            if exc.status_code in (404, 405, 501):
                return
            key = exc.status_code in (401, 403)
            hint = " (check the API key: --api-key, $OPENAI_API_KEY)" if key else ""
            raise ModelError(
                f"{where} answered HTTP {exc.status_code}{hint}: {_short(exc.message)}"
            ) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            raise ModelError(
                f"cannot reach {where}: {exc.__cause__ or exc}; check the base URL "
                "(--base-url, $OPENAI_BASE_URL) and that the server is running"
            ) from exc
        except (openai.OpenAIError, ValueError, TypeError):
            return  # a list this SDK cannot read: the episodes will say more
        if listed and self.name not in listed:
            shown = ", ".join(listed[:20]) + (" ..." if len(listed) > 20 else "")
            raise ModelError(
                f"{where} does not serve a model named {self.name!r}; it lists: {shown}"
            )

    async def aclose(self) -> None:
        await self._client.close()

    def describe(self) -> dict[str, Any]:
        # Never the key: this goes into trace files.
        return {
            "name": self.name,
            "kind": type(self).__name__,
            "base_url": self._shown_url,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "tool_calls": self.tool_calls,
            **self.describe_price(),
        }


TOOL_CALL_MODES = ("native", "text")
_SAMPLING = ("temperature", "top_p", "max_tokens", "seed")


def _calls_from_text(response: ModelResponse, request: ModelRequest) -> ModelResponse:
    """``response`` with the tool calls its text holds (``tool_calls="text"``)."""
    names = {t.get("function", t).get("name") for t in request.tools}
    found = parse_text_tool_calls(response.content, names)
    if not found.calls:
        return response
    prefix = uuid.uuid4().hex[:8]
    calls = [replace(c, id=f"text-{prefix}-{i}") for i, c in enumerate(found.calls)]
    note = f"{len(calls)} tool call(s) read from the reply's text ({', '.join(found.formats)})"
    return replace(
        response,
        content=found.text or None,
        tool_calls=[*response.tool_calls, *calls],
        notes=[*response.notes, note],
    )


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def parse_completion(completion: Any, where: str = "the model") -> ModelResponse:
    """A ModelResponse from the SDK's ChatCompletion, checking what the SDK does not.

    The SDK builds responses without validation, so a server that leaves out ``choices``
    or ``message`` gives ``None`` or a plain object here rather than an error, and one
    that sends content as an object, a numeric tool name, arguments as an object or a
    token count of 2**64 passes them on as they are. Those are made usable here (see
    :func:`~sandlot.tools.calls.text_from_model`,
    :func:`~sandlot.tools.calls.tool_call_from_model`, :meth:`Usage.checked`), each
    change said in ``response.notes``.

    Raises:
        ModelError: The completion has no choices, no message, is not an object, or
            holds a value that cannot be used (a tool call without a name, a name that
            is an object); the message says what was sent and what was expected.
    """
    if not hasattr(completion, "model_dump"):
        raise ModelError(
            f"{where} sent a body that is not a chat completion object: {_short(repr(completion))}"
        )
    raw = _dump(completion)
    choices = getattr(completion, "choices", None)
    if not choices or not isinstance(choices, list):
        raise ModelError(f"{where} sent a completion without choices: {_shown(completion)}")
    message = _field(choices[0], "message")
    if message is None:
        raise ModelError(f"{where} sent a choice without a message: {_shown(completion)}")
    notes: list[str] = []
    try:
        content, found = text_from_model(_field(message, "content"))
        notes += found
        calls: list[ToolCall] = []
        sent = _field(message, "tool_calls") or []
        if not isinstance(sent, list):
            kinds: dict[type, str] = {dict: "an object", str: "a string"}
            kind = kinds.get(type(sent), type(sent).__name__)
            raise ValueError(f"tool_calls as {kind}; expected a list of tool calls")
        for i, tool_call in enumerate(sent):
            function = _field(tool_call, "function")
            call, found = tool_call_from_model(
                i, _field(tool_call, "id"), _field(function, "name"), _field(function, "arguments")
            )
            notes += found
            # ids must be unique across the whole conversation (tool messages and
            # replays are matched by id): invent a random one when the server omits it
            calls.append(call if call.id else replace(call, id=f"call_{uuid.uuid4().hex[:16]}"))
    except ValueError as exc:
        raise ModelError(f"{where} sent {exc}") from exc
    usage_obj = getattr(completion, "usage", None)
    usage, found = Usage.checked(
        _field(usage_obj, "prompt_tokens"),
        _field(usage_obj, "completion_tokens"),
        _field(_field(usage_obj, "prompt_tokens_details"), "cached_tokens"),
    )
    notes += found
    for note in notes:
        log.warning("%s: %s", where, note)
    model = getattr(completion, "model", None) or ""
    return ModelResponse(
        content=content,
        tool_calls=calls,
        usage=usage,
        model=model if isinstance(model, str) else str(model),
        raw=raw,
        notes=notes,
    )


def _field(obj: Any, name: str) -> Any:
    """An attribute of an SDK object, or a key of a dict the SDK left unparsed."""
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _dump(completion: Any) -> dict[str, Any] | None:
    """The completion as plain data for ``response.raw`` (None if it cannot be dumped)."""
    try:
        # warnings=False: a field of an unexpected type (content as a list) is no news
        return completion.model_dump(warnings=False)
    except Exception as exc:  # a value too deep for pydantic's serializer
        log.warning("cannot keep the raw completion: %s", exc)
        return None


def _shown(completion: Any) -> str:
    try:
        text = json.dumps(completion.model_dump(exclude_none=True, warnings=False), default=str)
    except Exception:  # shown in an error message only: never the reason it fails
        text = f"<a {type(completion).__name__} that cannot be shown>"
    return _short(text)
