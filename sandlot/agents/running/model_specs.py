"""Models as recipes: what a process on another machine builds its own model from.

A live model (an HTTP client, a loaded file) does not travel between processes; its
spec string and options do. API keys are never part of a recipe: a worker's
OpenAI-compatible model reads its key from its own environment (``OPENAI_API_KEY``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandlot.agents.models.base import Model, Price

__all__ = ["ModelSpec", "build_model"]

_ENDPOINT_KINDS = ("openai", "llama")  # the kinds that take endpoint and sampling options
_NOT_SHIPPED = ("api_key",)


@dataclass(frozen=True)
class ModelSpec:
    """A model to build where it runs: ``spec`` as ``--model`` takes it, its options
    (for openai and llama models; the API key is dropped), a price, and optionally other
    specs for the planner and the executor roles.

    Attributes:
        spec: ``oracle``, ``null``, ``openai:NAME``, ``scripted:FILE:ATTR``, ...
        options: keyword options for the model (base_url, timeout, temperature, ...).
        price: the price each model call is charged at, if any.
        planner: a model for the planner role only.
        executor: a model for the executor role only.
    """

    spec: str
    options: dict[str, Any] = field(default_factory=dict)
    price: Price | None = None
    planner: ModelSpec | None = None
    executor: ModelSpec | None = None

    @classmethod
    def of(cls, spec: str, price: Price | None = None, **options: Any) -> ModelSpec:
        """A spec with only the options its kind takes (none of them None, never a key)."""
        kind = spec.strip().partition(":")[0]
        kept = (
            {k: v for k, v in options.items() if v is not None and k not in _NOT_SHIPPED}
            if kind in _ENDPOINT_KINDS
            else {}
        )
        return cls(spec=spec, options=kept, price=price)

    def build(self) -> Model:
        """The model this recipe names, built in this process.

        Raises:
            ValueError: the spec cannot be built here (see ``make_model``).
        """
        if self.planner is not None or self.executor is not None:
            from sandlot.agents.models.routed import RoutedModel

            default = ModelSpec(self.spec, self.options, self.price)
            return RoutedModel(
                (self.planner or default).build(), (self.executor or default).build()
            )
        from sandlot.agents.models.registry import make_model

        model = make_model(self.spec, **self.options)
        if self.price is not None:
            model.price = self.price
        return model


def build_model(recipe: ModelSpec | Model | str | None) -> Model | None:
    """A model from a recipe, a spec string, or a model object sent as it is."""
    if recipe is None or isinstance(recipe, Model):
        return recipe
    if isinstance(recipe, str):
        return ModelSpec.of(recipe).build()
    return recipe.build()
