"""A price table: what well-known hosted models' tokens cost, overridable by the user.

``PRICES`` holds the list prices (USD per million prompt, completion and cached prompt
tokens) of common OpenAI, Anthropic and Google models, as their pricing pages gave them
in 2025. Prices change: a file given to :func:`load_prices` (``--prices FILE``) adds
models or replaces entries, and ``--price-input``/``--price-output``/``--price-cached``
(or setting ``model.price``) replaces the table's price altogether. A model the table
does not hold (a local model, a test double) has no price: no cost is recorded.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandlot.environments.model import Price
from sandlot.errors import UserError

__all__ = ["PRICES", "load_prices", "price_of"]

# model name -> Price(input, output, cached), USD per million tokens
PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-5": Price(1.25, 10.00, 0.125),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "o3": Price(2.00, 8.00, 0.50),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o4-mini": Price(1.10, 4.40, 0.275),
    # Anthropic (cached: a cache read)
    "claude-opus-4-1": Price(15.00, 75.00, 1.50),
    "claude-sonnet-4-5": Price(3.00, 15.00, 0.30),
    "claude-sonnet-4": Price(3.00, 15.00, 0.30),
    "claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    "claude-3-5-haiku": Price(0.80, 4.00, 0.08),
    # Google (prompts up to 200k tokens)
    "gemini-2.5-pro": Price(1.25, 10.00, 0.31),
    "gemini-2.5-flash": Price(0.30, 2.50, 0.075),
    "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.025),
}


def price_of(name: str, table: Mapping[str, Price] | None = None) -> Price | None:
    """The price of model ``name`` in ``table`` (default :data:`PRICES`): its own entry,
    else the longest entry it starts with followed by ``-`` (a dated version such as
    ``gpt-4o-mini-2024-07-18``), else None. A provider prefix (``openai/gpt-4o``) is
    ignored."""
    table = PRICES if table is None else table
    name = name.rsplit("/", 1)[-1]
    if name in table:
        return table[name]
    versions = [k for k in table if name.startswith(k + "-")]
    return table[max(versions, key=len)] if versions else None


def load_prices(path: str | Path, base: Mapping[str, Price] | None = None) -> dict[str, Price]:
    """The table ``base`` (default :data:`PRICES`) with the entries of a JSON or TOML
    file added or replaced. The file maps a model name to its prices, USD per million
    tokens: ``{"my-model": {"input": 0.5, "output": 1.5, "cached": 0.25}}`` (``cached``
    optional: the input price).

    Raises:
        UserError: the file is missing or not such a table.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the price table {path}: {exc.strerror or exc}") from exc
    try:
        data: Any = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if path.suffix == ".toml" else "JSON"
        raise UserError(f"the price table {path} is not valid {kind}: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"the price table {path} must map model names to prices")
    table = dict(PRICES if base is None else base)
    for name, entry in data.items():
        if not isinstance(entry, dict) or not set(entry) <= {"input", "output", "cached"}:
            raise UserError(
                f"the price of {name!r} in {path} must be an object with input, output "
                f'and (optionally) cached, USD per million tokens: {{"input": 0.5, '
                f'"output": 1.5}}; got {entry!r}'
            )
        try:
            table[name] = Price(**entry)
        except (TypeError, ValueError) as exc:
            raise UserError(f"the price of {name!r} in {path}: {exc}") from exc
    return table
