"""Traces: the SQLite store, its batching writer, recorders, redaction and queries."""

from sandlot.traces.errors import TraceFileError
from sandlot.traces.query import TraceReader
from sandlot.traces.recorder import EpisodeRecorder, NullRecorder, Span
from sandlot.traces.redact import Redactor
from sandlot.traces.schema import EPISODE_STATUSES, EVENT_KINDS, SCHEMA_SQL, SCHEMA_VERSION
from sandlot.traces.store import StoreRecorder, TraceStore
from sandlot.traces.writer import TraceWriter, WriterError

__all__ = [
    "EPISODE_STATUSES",
    "EVENT_KINDS",
    "SCHEMA_SQL",
    "SCHEMA_VERSION",
    "EpisodeRecorder",
    "NullRecorder",
    "Redactor",
    "Span",
    "TraceFileError",
    "StoreRecorder",
    "TraceReader",
    "TraceStore",
    "TraceWriter",
    "WriterError",
]
