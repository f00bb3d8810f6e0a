"""Sandboxes: where untrusted code (code the model wrote) runs.

``make_sandbox`` picks a backend; ``DockerSandbox`` (hardened container, pooled by
``SandboxPool``) and ``LocalSandbox`` (a temporary directory, no isolation) implement
``Sandbox``. ``build_image``, ``doctor`` and ``cleanup`` back the ``sandlot sandbox``
commands. See docs/sandboxes.md and docs/threat-model.md.
"""

from sandlot.environments.sandbox.base import ExecResult, Sandbox, SandboxError, SandboxLimits
from sandlot.environments.sandbox.cleanup import cleanup
from sandlot.environments.sandbox.docker import DockerSandbox
from sandlot.environments.sandbox.doctor import Check, doctor
from sandlot.environments.sandbox.factory import BACKENDS, docker_available, make_sandbox
from sandlot.environments.sandbox.image import IMAGE, ImageBuildError, build_image, image_exists
from sandlot.environments.sandbox.local import LocalSandbox, NotIsolatedWarning
from sandlot.environments.sandbox.pool import SandboxPool

__all__ = [
    "BACKENDS",
    "IMAGE",
    "Check",
    "DockerSandbox",
    "ExecResult",
    "ImageBuildError",
    "LocalSandbox",
    "NotIsolatedWarning",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxPool",
    "build_image",
    "cleanup",
    "docker_available",
    "doctor",
    "image_exists",
    "make_sandbox",
]
