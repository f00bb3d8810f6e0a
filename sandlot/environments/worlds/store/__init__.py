"""The store world: an online store's back office as an in-process environment."""

from sandlot.environments.worlds.store.environment import StoreEnvironment

__all__ = ["StoreEnvironment"]
