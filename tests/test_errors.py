"""One exceptions module: every error sandlot raises to a caller (a user error or a run
error) is defined in sandlot.errors; other modules only re-export it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import sandlot
from sandlot import errors


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(sandlot.__path__, "sandlot."):
        try:
            importlib.import_module(info.name)
        except ImportError:  # a module of an optional extra that is not installed
            continue
        names.append(info.name)
    return names


def test_every_sandlot_error_is_defined_in_the_errors_module():
    elsewhere = []
    for name in _modules():
        for attr, value in vars(importlib.import_module(name)).items():
            if (
                inspect.isclass(value)
                and issubclass(value, errors.SandlotError)
                and value.__module__ != "sandlot.errors"
            ):
                elsewhere.append(f"{value.__module__}.{attr}")
    assert elsewhere == []


def test_the_errors_module_exports_each_error_it_defines():
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == "sandlot.errors"
    }
    assert defined == set(errors.__all__)
