"""The trace viewer: a local read-only web page over a trace file, and standalone HTML
export of one episode. See docs/viewer.md."""

from sandlot.traces.viewer.api import ViewerAPI, ViewerError
from sandlot.traces.viewer.db import TraceFileError
from sandlot.traces.viewer.export import export_episode_html
from sandlot.traces.viewer.server import ViewerServer, serve

__all__ = [
    "TraceFileError",
    "ViewerAPI",
    "ViewerError",
    "ViewerServer",
    "export_episode_html",
    "serve",
]
