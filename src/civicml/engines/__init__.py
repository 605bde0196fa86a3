"""Where trials, folds and batch jobs run: in this process (``local``) or on Dask.distributed.

Execution only: the search that runs on an engine is :func:`civicml.learn.search_on_engine`.
"""

from civicml.engines._base import Engine
from civicml.engines._cluster import DaskProcesses
from civicml.engines._dask import DaskEngine, EngineError
from civicml.engines._local import LocalEngine
from civicml.engines._open import open_engine

__all__ = [
    "DaskEngine",
    "DaskProcesses",
    "Engine",
    "EngineError",
    "LocalEngine",
    "open_engine",
]
