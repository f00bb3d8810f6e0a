"""The sandbox conformance kit now ships in the package (``sandlot.testing``), so a
backend's author can run it; this module re-exports it for the tests that import it
from here."""

from sandlot.testing.sandbox import CUT_MARKER_RE, SandboxConformance

__all__ = ["CUT_MARKER_RE", "SandboxConformance"]
