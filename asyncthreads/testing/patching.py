"""``sim.patched()``: the standard library's clocks, sleeps, locks, queues and thread
identity on a simulation, for the code running inside it.

While a simulation is patched in on an OS thread (the test's), these read and move
virtual time or are simulated, *for calls made on that OS thread* (the test's own code
and every simulated thread, which all run there):

* ``time.sleep`` (``sleep(0)`` included: a schedule point), ``time.monotonic``,
  ``time.perf_counter``, ``time.time`` and their ``_ns`` forms. ``monotonic`` and
  ``perf_counter`` read the virtual clock itself; ``time.time()`` reads it offset to
  :data:`EPOCH` (2000-01-01 00:00:00 UTC, the default start of ``sim.wall_clock()``),
  so ``time.time() - EPOCH == sim.now``. ``datetime`` stays with ``sim.wall_clock()``.
* ``threading.Lock``, ``RLock``, ``Condition``, ``Event``, ``Semaphore``,
  ``BoundedSemaphore``, ``Barrier``, ``local`` and ``queue.Queue``, ``LifoQueue``,
  ``PriorityQueue``, ``SimpleQueue`` *made* inside it are the simulated ones
  (:mod:`.sim_locks`, :mod:`.sim_sync`, :mod:`.sim_queues`, :mod:`.sim_threads`);
  ``concurrent.futures.Future``, ``wait`` and ``as_completed``, which build on them,
  thus wait on virtual time too.
* ``threading.current_thread()`` and ``threading.get_ident()`` tell simulated threads
  apart (see :mod:`.sim_threads`).

Everything else is untouched: objects made before the patch or after it ends, calls from
other OS threads (a ``threading.Thread`` or ``ThreadPoolExecutor`` started inside the
patch runs on real threads and real time, with real primitives), and the machinery of
``threading``, ``logging``, ``concurrent.futures``' executors, ``asyncio`` and
asyncthreads' production scheduler, which always get the real primitives.

The patch replaces module attributes, which every thread of the process sees, so each
replacement first asks :func:`scheduler_here` whether its caller is inside a patched
simulation, and otherwise calls the original. The attributes are installed when the
first patch in the process begins and restored when the last one ends (even on an
error), so nested and concurrent ``patched()`` blocks are safe; an attribute that
someone else replaced meanwhile is left as they left it.
"""

from __future__ import annotations

import _thread
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from .sim_locks import SimCondition, SimLock, SimRLock
from .sim_queues import SimLifoQueue, SimPriorityQueue, SimQueue, SimSimpleQueue
from .sim_sync import SimBarrier, SimBoundedSemaphore, SimEvent, SimSemaphore
from .sim_thread import SimThread, SleepBlocker
from .sim_threads import SimLocal, SimulatedThread

if TYPE_CHECKING:
    from .simulation import Simulation
    from .step_scheduler import StepScheduler

__all__ = ["EPOCH", "patched", "scheduler_here"]

EPOCH = 946_684_800.0
"""What ``time.time()`` reads at virtual time 0 under the patch: 2000-01-01 00:00:00 UTC."""

# Modules whose own calls always get the real thing: they run real threads, or they are
# the machinery of the standard library and of test tools, whose locks and clocks may be
# used from other threads and must not become schedule points.
_REAL_FOR = (
    "threading",
    "queue",
    "_threading_local",
    "functools",
    "logging",
    "tempfile",
    "concurrent.futures.thread",
    "concurrent.futures.process",
    "multiprocessing",
    "asyncio",
    "selectors",
    "subprocess",
    "socketserver",
    "asyncthreads.thread_scheduler",
    "_pytest",
    "pytest",
    "pluggy",
    "pytest_timeout",
    "xdist",
    "execnet",
    "hypothesis",
    "coverage",
    "freezegun",
    "greenlet",
)
_real_for_module: dict[str, bool] = {}  # a cache of the answers for _REAL_FOR
# Modules that make primitives on behalf of their caller (a Future made inside the patch
# gets a simulated Condition): the caller decides.
_ON_BEHALF = frozenset({"concurrent.futures._base"})

# OS thread ident -> the simulations patched in on it, innermost last. Changed under
# _install_lock; read without it (a dict lookup is atomic, and each OS thread changes
# only its own entry).
_active: dict[int, list[Simulation]] = {}
_install_lock = _thread.allocate_lock()
_installed: list[tuple[ModuleType, str, object, object]] = []  # module, name, real, ours
# Per simulation: the SimulatedThread standing for each simulated thread.
_identities: dict[int, dict[int, SimulatedThread]] = {}

_real_get_ident = _thread.get_ident
_RealCondition = threading.Condition
_real_current_thread = threading.current_thread
_real_sleep = time.sleep
_real_time = time.time
_real_time_ns = time.time_ns
_real_monotonic = time.monotonic
_real_monotonic_ns = time.monotonic_ns
_real_perf_counter = time.perf_counter
_real_perf_counter_ns = time.perf_counter_ns


def _simulation_for(frame: FrameType | None) -> Simulation | None:
    """The simulation patched in for a call from ``frame``, or None."""
    if not _active:
        return None
    stack = _active.get(_real_get_ident())
    if not stack:
        return None
    while frame is not None and frame.f_globals.get("__name__") in _ON_BEHALF:
        frame = frame.f_back
    if frame is not None and _gets_the_real_thing(frame.f_globals.get("__name__", "")):
        return None
    return stack[-1]


def _gets_the_real_thing(module: str) -> bool:
    real = _real_for_module.get(module)
    if real is None:
        real = _real_for_module[module] = any(
            module == name or module.startswith(name + ".") for name in _REAL_FOR
        )
    return real


def scheduler_here(depth: int = 2) -> StepScheduler | None:
    """The scheduler of the simulation patched in for the caller's caller, or None."""
    sim = _simulation_for(sys._getframe(depth))
    return None if sim is None else sim.scheduler


# -- time -----------------------------------------------------------------------------------


def _sleep(seconds: float, /) -> None:
    sim = _simulation_for(sys._getframe(1))
    if sim is None:
        _real_sleep(seconds)
        return
    seconds = float(seconds)  # a TypeError for what time.sleep would refuse
    if math.isnan(seconds):
        raise ValueError("Invalid value NaN (not a number)")
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    scheduler = sim.scheduler
    deadline = scheduler.clock.now() + seconds
    blocker = SleepBlocker(deadline)
    scheduler.block(blocker, deadline)
    while scheduler.clock.now() < deadline:  # woken early (by nothing of ours): sleep on
        scheduler.block(blocker, deadline)


def _reader(
    real: Callable[[], float], virtual: Callable[[Simulation], float]
) -> Callable[[], float]:
    def read() -> float:
        sim = _simulation_for(sys._getframe(1))
        return real() if sim is None else virtual(sim)

    read.__name__ = real.__name__
    read.__doc__ = real.__doc__
    return read


def _reader_ns(
    real: Callable[[], int], virtual: Callable[[Simulation], float]
) -> Callable[[], int]:
    def read() -> int:
        sim = _simulation_for(sys._getframe(1))
        return real() if sim is None else round(virtual(sim) * 1_000_000_000)

    read.__name__ = real.__name__
    read.__doc__ = real.__doc__
    return read


def _virtual_now(sim: Simulation) -> float:
    return sim.clock.now()


def _virtual_wall(sim: Simulation) -> float:
    return EPOCH + sim.clock.now()


# -- identity -------------------------------------------------------------------------------


def _identity(sim: Simulation) -> SimThread | None:
    """The simulated thread running now; None on the test's own thread."""
    thread = sim.scheduler.current_thread()
    return thread if isinstance(thread, SimThread) else None


def _current_thread() -> threading.Thread:
    sim = _simulation_for(sys._getframe(1))
    thread = None if sim is None else _identity(sim)
    if thread is None:
        return _real_current_thread()
    assert sim is not None
    handles = _identities.setdefault(id(sim), {})
    handle = handles.get(thread.ident)
    if handle is None:
        handle = handles[thread.ident] = SimulatedThread(thread)
    return handle


def _get_ident() -> int:
    sim = _simulation_for(sys._getframe(1))
    thread = None if sim is None else _identity(sim)
    return _real_get_ident() if thread is None else thread.ident


# -- the primitives -------------------------------------------------------------------------


def _factory(real: Callable[..., Any], simulated: Callable[..., Any]) -> Callable[..., Any]:
    """A function: the simulated primitive if its caller is in a patched simulation."""

    def make(*args: Any, **kwargs: Any) -> Any:
        sim = _simulation_for(sys._getframe(1))
        if sim is None:
            return real(*args, **kwargs)
        return simulated(sim.scheduler, *args, **kwargs)

    make.__name__ = getattr(real, "__name__", "make")
    make.__doc__ = real.__doc__
    return make


def _dispatching_class(real: type, simulated: Callable[..., Any]) -> type:
    """A subclass of ``real`` whose construction makes the simulated primitive if its
    caller is in a patched simulation, else a ``real`` one. Subclasses of it (defined
    while the patch is on) are ``real``'s."""

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        if cls is patched_class:
            sim = _simulation_for(sys._getframe(1))
            if sim is None:
                return real(*args, **kwargs)
            return simulated(sim.scheduler, *args, **kwargs)
        return real.__new__(cls)  # type: ignore[call-overload]

    namespace = {"__new__": __new__, "__module__": real.__module__, "__doc__": real.__doc__}
    patched_class = _Dispatching(real.__name__, (real,), namespace)
    patched_class.__qualname__ = real.__qualname__
    patched_class._real = real
    return patched_class


class _Dispatching(type):
    """The type of a patched class: ``isinstance`` and ``issubclass`` answer as for the
    class it stands in for, so that they hold for real and simulated instances alike."""

    _real: type

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, cls._real)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, cls._real)


def _condition(scheduler: StepScheduler, lock: Any = None) -> object:
    """A simulated Condition on a simulated lock (or a new one); on a real lock, made
    before the patch, a real Condition: waiting on it must release that lock."""
    if lock is None or isinstance(lock, SimLock):
        return SimCondition(scheduler, lock)
    return _RealCondition(lock)


def _replacements() -> list[tuple[ModuleType, str, object]]:
    return [
        (time, "sleep", _sleep),
        (time, "monotonic", _reader(_real_monotonic, _virtual_now)),
        (time, "monotonic_ns", _reader_ns(_real_monotonic_ns, _virtual_now)),
        (time, "perf_counter", _reader(_real_perf_counter, _virtual_now)),
        (time, "perf_counter_ns", _reader_ns(_real_perf_counter_ns, _virtual_now)),
        (time, "time", _reader(_real_time, _virtual_wall)),
        (time, "time_ns", _reader_ns(_real_time_ns, _virtual_wall)),
        (threading, "Lock", _factory(threading.Lock, SimLock)),
        (threading, "RLock", _factory(threading.RLock, SimRLock)),
        (threading, "Condition", _dispatching_class(threading.Condition, _condition)),
        (threading, "Event", _dispatching_class(threading.Event, SimEvent)),
        (threading, "Semaphore", _dispatching_class(threading.Semaphore, SimSemaphore)),
        (
            threading,
            "BoundedSemaphore",
            _dispatching_class(threading.BoundedSemaphore, SimBoundedSemaphore),
        ),
        (threading, "Barrier", _dispatching_class(threading.Barrier, SimBarrier)),
        (threading, "local", SimLocal),
        (threading, "current_thread", _current_thread),
        (threading, "get_ident", _get_ident),
        (queue, "Queue", _dispatching_class(queue.Queue, SimQueue)),
        (queue, "LifoQueue", _dispatching_class(queue.LifoQueue, SimLifoQueue)),
        (queue, "PriorityQueue", _dispatching_class(queue.PriorityQueue, SimPriorityQueue)),
        (queue, "SimpleQueue", _dispatching_class(queue.SimpleQueue, SimSimpleQueue)),
    ]


def _install() -> None:
    for module, name, ours in _replacements():
        _installed.append((module, name, getattr(module, name), ours))
        setattr(module, name, ours)


def _uninstall() -> None:
    while _installed:
        module, name, real, ours = _installed.pop()
        if getattr(module, name) is ours:
            setattr(module, name, real)


@contextmanager
def patched(sim: Simulation) -> Iterator[Simulation]:
    """Patch ``sim`` in for the calling OS thread (see the module docstring)."""
    me = _real_get_ident()
    with _install_lock:
        if not _installed:
            _install()
        _active.setdefault(me, []).append(sim)
    try:
        yield sim
    finally:
        with _install_lock:
            stack = _active[me]
            stack.remove(sim)
            if not stack:
                del _active[me]
            if sim not in (s for stacks in _active.values() for s in stacks):
                _identities.pop(id(sim), None)
            if not _active:
                _uninstall()
