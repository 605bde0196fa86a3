"""Where trials, folds and batch jobs run: in this process (``local``) or on Dask.distributed."""

from civicml.engines._base import Engine, open_engine
from civicml.engines._cluster import DaskProcesses
from civicml.engines._dask import DaskEngine, EngineError
from civicml.engines._local import LocalEngine
from civicml.engines._search import derive_seed, run_fold, search_on_engine

__all__ = [
    "DaskEngine",
    "DaskProcesses",
    "Engine",
    "EngineError",
    "LocalEngine",
    "derive_seed",
    "open_engine",
    "run_fold",
    "search_on_engine",
]
