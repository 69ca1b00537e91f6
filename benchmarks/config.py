"""How big and how often: the full run and ``--quick``; which optional peers are installed."""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass
from typing import Any

__all__ = ["Config", "optional_module", "peer_versions"]


@dataclass(frozen=True)
class Config:
    """``quick``: each workload once, at a small size (a smoke test, not a measurement).

    ``runs``: how many interleaved runs each contender gets; ``None`` lets each workload
    choose (its full run fits the two-minute budget of ``python -m benchmarks``).
    """

    quick: bool = False
    runs: int | None = None

    def runs_or(self, full: int) -> int:
        if self.runs is not None:
            return self.runs
        return 1 if self.quick else full

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def optional_module(name: str) -> Any | None:
    """Import an optional peer (Twisted, trio), or None if it is not installed.

    Imported by name, so mypy checks the benchmarks the same way with or without them.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def peer_versions() -> dict[str, str | None]:
    """The optional peers (``pip install -e '.[bench,dask]'``) and their versions, or None."""
    versions: dict[str, str | None] = {}
    for dist in ("twisted", "trio", "dask"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return versions
