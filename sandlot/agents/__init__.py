"""sandlot subpackage."""

__all__: list[str] = []
