"""The catalog world: BFCL's function definitions as one large catalog of tools, with
labelled queries, for tool retrieval at scale (needs ``pip install --no-deps
bfcl-eval``)."""

from sandlot.environments.worlds.catalog.catalog import Catalog, CatalogQuery, load_catalog
from sandlot.environments.worlds.catalog.environment import CatalogEnvironment
from sandlot.environments.worlds.catalog.tasks import catalog_task, catalog_tasks

__all__ = [
    "Catalog",
    "CatalogEnvironment",
    "CatalogQuery",
    "catalog_task",
    "catalog_tasks",
    "load_catalog",
]
