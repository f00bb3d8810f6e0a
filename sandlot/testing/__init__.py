"""What sandlot ships for extension authors' own tests.

:class:`SandboxConformance` is the conformance kit every Sandbox backend passes (see
docs/guides/sandbox-backend.md). Importing this package needs pytest.
"""

from sandlot.testing.sandbox import CUT_MARKER_RE, SandboxConformance

__all__ = ["CUT_MARKER_RE", "SandboxConformance"]
