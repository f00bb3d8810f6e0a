"""Stored episodes as OpenTelemetry spans, sent to an OTLP/HTTP receiver (the otel extra).

One trace per episode: the episode is the root span, each recorded span (nodes, model
calls, tool calls...) a child span of its recorded parent, with its recorded start and
end times. Model and tool calls follow OpenTelemetry's gen_ai semantic conventions
(``chat {model}`` and ``execute_tool {name}`` spans); the episode span carries
``sandlot.*`` attributes (run, task, outcome, score). Events that are not spans (plans,
retrievals, checks, answers) become span events on their parent span.

Payloads were redacted when the trace was written; they are redacted again for known
values (the environment's keys and any secrets given), as the table export is, and each
text attribute is cut to :data:`MAX_ATTRIBUTE_BYTES`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.errors import OtlpExportError, UserError
from sandlot.traces.query import TraceReader
from sandlot.traces.redact import Redactor
from sandlot.traces.viewer.summaries import dumps_for_page

if TYPE_CHECKING:  # pragma: no cover
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

__all__ = [
    "MAX_ATTRIBUTE_BYTES",
    "OtlpExportError",
    "episode_spans",
    "export_otlp",
    "require_sdk",
]

MAX_ATTRIBUTE_BYTES = 4096
_NS = 1_000_000_000
# Kinds that are spans even when recorded without a duration.
_SPAN_KINDS = ("node", "model_call", "tool_call")


def require_sdk() -> None:
    """Refuse (a UserError saying what to install) when the otel extra is missing."""
    try:
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise UserError(
            "OpenTelemetry export needs the otel extra: pip install 'sandlot[otel]'"
        ) from exc


def _bounded(text: str, limit: int = MAX_ATTRIBUTE_BYTES) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "..."


def _text(value: Any) -> str:
    return value if isinstance(value, str) else dumps_for_page(value)


def _ns(seconds: float) -> int:
    return int(seconds * _NS)


def _provider(model: str) -> str:
    """``openai:gpt-4o`` -> ``openai``; a model name without a provider is its own."""
    return model.split(":", 1)[0] if model else "unknown"


def _model_call(payload: dict[str, Any], fallback_model: str) -> tuple[str, dict[str, Any]]:
    model = str(payload.get("model") or fallback_model or "unknown")
    usage = payload.get("usage") or {}
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "gen_ai.provider.name": _provider(model),
        "gen_ai.system": _provider(model),
        "gen_ai.usage.input_tokens": int(usage.get("prompt_tokens") or 0),
        "gen_ai.usage.output_tokens": int(usage.get("completion_tokens") or 0),
    }
    for key, attr in (("purpose", "sandlot.purpose"), ("step_index", "sandlot.step_index")):
        if payload.get(key) is not None:
            attrs[attr] = payload[key]
    for key, attr in (("latency", "sandlot.latency_s"), ("cost_usd", "sandlot.cost_usd")):
        if isinstance(payload.get(key), int | float):
            attrs[attr] = float(payload[key])
    if payload.get("response") is not None:
        attrs["sandlot.response"] = _bounded(_text(payload["response"]))
    return f"chat {model}", attrs


def _tool_call(name: str, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    attrs: dict[str, Any] = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    if payload.get("call_id"):
        attrs["gen_ai.tool.call.id"] = str(payload["call_id"])
    if payload.get("arguments") is not None:
        attrs["gen_ai.tool.call.arguments"] = _bounded(_text(payload["arguments"]))
    if payload.get("content") is not None:
        attrs["gen_ai.tool.call.result"] = _bounded(_text(payload["content"]))
    if payload.get("ok") is not None:
        attrs["sandlot.ok"] = bool(payload["ok"])
    return f"execute_tool {name}", attrs


def _episode_attrs(ep: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"sandlot.episode.id": ep["id"]}
    for column in ("run_id", "task_id", "outcome", "status", "end_reason", "agent", "model"):
        if ep.get(column) is not None:
            attrs[f"sandlot.{column.replace('_id', '.id')}"] = str(ep[column])
    for column in ("score", "cost"):
        if ep.get(column) is not None:
            attrs[f"sandlot.{column}"] = float(ep[column])
    for column in ("epoch", "steps", "model_calls", "tool_calls", "tool_errors"):
        if ep.get(column) is not None:
            attrs[f"sandlot.{column}"] = int(ep[column])
    attrs["gen_ai.usage.input_tokens"] = int(ep.get("prompt_tokens") or 0)
    attrs["gen_ai.usage.output_tokens"] = int(ep.get("completion_tokens") or 0)
    return attrs


def episode_spans(
    reader: TraceReader, episode_id: str, *, redactor: Redactor | None = None
) -> list[ReadableSpan]:
    """The spans of one stored episode, ended with their recorded times (root first
    started; every span in one new trace).

    Raises:
        UserError: no such episode, or the otel extra is missing.
    """
    require_sdk()
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import Status, StatusCode

    ep = reader.episode(episode_id)
    if ep is None:
        raise UserError(f"no episode {episode_id!r} in {reader.path}")
    redactor = redactor if redactor is not None else Redactor()
    if redactor.finds(dumps_for_page(ep)):  # the task id, the error, the model's name
        ep = redactor.strings(ep)
    collect = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "sandlot"}))
    provider.add_span_processor(SimpleSpanProcessor(collect))
    tracer = provider.get_tracer("sandlot.traces.otel")

    events = [
        redactor.strings(event) if redactor.finds(dumps_for_page(event)) else event
        for event in reader.events(episode_id, messages=False)
    ]  # names (a tool named with a key) as well as payloads
    started = ep.get("started") or (events[0]["ts"] if events else 0.0)
    spans: dict[int, tuple[Span, int]] = {}  # seq -> (span, end ns)
    root_seq = next((e["seq"] for e in events if e["kind"] == "episode"), None)
    root = tracer.start_span(
        f"episode {ep.get('task_id') or episode_id}",
        context=trace.set_span_in_context(trace.INVALID_SPAN),
        attributes=_episode_attrs(ep),
        start_time=_ns(started),
    )
    latest = _ns(started)
    if ep.get("status") == "error" or ep.get("outcome") == "error":
        root.set_status(Status(StatusCode.ERROR, _bounded(str(ep.get("error") or "error"))))
    for event in events:
        if event["seq"] == root_seq:
            continue
        parent = spans.get(event["parent"], (root, 0))[0]
        payload = event["payload"] if isinstance(event["payload"], dict) else {}
        start = _ns(event["ts"] or started)
        if event["duration"] is None and event["kind"] not in _SPAN_KINDS:
            # a point in time: an event on its parent span
            parent.add_event(
                f"{event['kind']} {event['name']}".strip(),
                {"sandlot.seq": event["seq"], "sandlot.payload": _bounded(_text(payload))},
                timestamp=start,
            )
            if event["kind"] == "error":
                parent.set_status(Status(StatusCode.ERROR, _bounded(_text(payload))))
            latest = max(latest, start)
            continue
        if event["kind"] == "model_call":
            name, attrs = _model_call(payload, str(ep.get("model") or ""))
        elif event["kind"] == "tool_call":
            name, attrs = _tool_call(str(event["name"]), payload)
        else:
            name, attrs = str(event["name"] or event["kind"]), {}
        attrs.update({"sandlot.kind": event["kind"], "sandlot.seq": event["seq"]})
        span = tracer.start_span(
            name, context=trace.set_span_in_context(parent), attributes=attrs, start_time=start
        )
        if payload.get("ok") is False or payload.get("error"):
            why = payload.get("error") or payload.get("error_kind") or "failed"
            span.set_status(Status(StatusCode.ERROR, _bounded(_text(why))))
        end = start + _ns(float(event["duration"] or 0.0))
        spans[event["seq"]] = (span, end)
        latest = max(latest, end)
    for span, end in reversed(list(spans.values())):
        span.end(end_time=end)
    ended = ep.get("ended")
    root.end(end_time=max(_ns(ended), _ns(started)) if ended else latest)
    spans_ended = collect.get_finished_spans()
    provider.shutdown()
    return sorted(spans_ended, key=lambda s: s.start_time or 0)


def _episode_ids(reader: TraceReader, run_id: str | None, episode_id: str | None) -> list[str]:
    if episode_id is not None:
        if reader.episode(episode_id) is None:
            raise UserError(f"no episode {episode_id!r} in {reader.path}")
        return [episode_id]
    if run_id is not None and reader.run(run_id) is None:
        known = ", ".join(r["id"] for r in reader.runs()) or "none"
        raise UserError(f"no run {run_id!r} in {reader.path}; its runs: {known}")
    return [ep["id"] for ep in reader.episodes(run_id)]


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _send(exporter: SpanExporter, spans: Sequence[ReadableSpan], endpoint: str) -> None:
    from opentelemetry.sdk.trace.export import SpanExportResult

    # The exporter reports why a send failed only to its logger: keep that for the error.
    log = logging.getLogger("opentelemetry.exporter")
    handler, propagate = _Messages(), log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        result = exporter.export(spans)
    finally:
        log.removeHandler(handler)
        log.propagate = propagate
    if result is not SpanExportResult.SUCCESS:
        why = "; ".join(handler.messages[-2:]) or "the receiver did not accept them"
        raise OtlpExportError(f"could not send {len(spans)} spans to {endpoint}: {why}")


def export_otlp(
    db_path: str | Path,
    endpoint: str,
    *,
    run_id: str | None = None,
    episode_id: str | None = None,
    secrets: Iterable[str] = (),
    timeout: float = 10.0,
    exporter: SpanExporter | None = None,
) -> int:
    """Send the episodes of trace ``db_path`` (of run ``run_id``, only ``episode_id``,
    or all) as OpenTelemetry spans to the OTLP/HTTP ``endpoint`` (its full URL,
    ``.../v1/traces``), one request per episode.

    Returns:
        The number of spans sent.

    Raises:
        OtlpExportError: the receiver did not take them.
        UserError: an unknown run or episode, or the otel extra is missing.
        FileNotFoundError: no trace file at ``db_path``.
    """
    require_sdk()
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=timeout)
    redactor = Redactor(secrets)
    sent = 0
    try:
        with TraceReader(db_path) as reader:
            for eid in _episode_ids(reader, run_id, episode_id):
                spans = episode_spans(reader, eid, redactor=redactor)
                _send(exporter, spans, endpoint)
                sent += len(spans)
    finally:
        exporter.shutdown()
    return sent
