"""Fixtures shared by the test modules. Each test gets its own: nothing is shared between
tests, so the suite runs in parallel under pytest-xdist."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from asyncthreads.testing import Simulation


@pytest.fixture
def sim() -> Iterator[Simulation]:
    """A fresh Simulation, closed after the test (what it built is shut down)."""
    with Simulation() as simulation:
        yield simulation


@pytest.fixture
def gate() -> threading.Event:
    """An event a real-thread test sets to release the calls it holds (see each module's
    ``hold`` helper)."""
    return threading.Event()
