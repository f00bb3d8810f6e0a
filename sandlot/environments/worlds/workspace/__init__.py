"""The workspace world: shell, Python and files in a sandbox."""

from sandlot.environments.worlds.workspace.environment import WorkspaceEnvironment

__all__ = ["WorkspaceEnvironment"]
