"""Thread identity inside a simulation: ``threading.current_thread()``, ``get_ident()``
and ``threading.local`` for simulated threads.

All simulated threads run on one OS thread, so the real ``threading.local`` and
``current_thread()`` cannot tell them apart. Under ``sim.patched()``:

* :class:`SimulatedThread` is what ``threading.current_thread()`` returns on a simulated
  thread: a ``threading.Thread`` named as the production thread is (a pool worker's name,
  the reactor's name), whose ``ident`` is the simulated thread's ident (stable across
  replays). On the test's own thread, ``current_thread()`` and ``get_ident()`` stay the
  real ones.
* :class:`SimLocal` is ``threading.local``: one set of attributes per simulated thread
  (per OS thread if made outside a simulation), and a subclass's ``__init__`` runs again,
  with the constructor's arguments, the first time each thread touches the object, as
  the standard library's does.
"""

from __future__ import annotations

import _thread
import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sim_thread import SimThread
    from .step_scheduler import StepScheduler

__all__ = ["SimLocal", "SimulatedThread", "local_key"]


class SimulatedThread(threading.Thread):
    """What ``threading.current_thread()`` returns on a simulated thread.

    It is alive while its simulation runs; it cannot be started or joined (it stands for
    a thread the simulation runs, as ``threading``'s own dummy threads do).
    """

    def __init__(self, thread: SimThread) -> None:
        super().__init__(name=thread.name, daemon=True)
        self.simulated = thread
        self._started.set()  # type: ignore[attr-defined]
        self._ident = thread.ident
        self._native_id = thread.ident

    def is_alive(self) -> bool:
        return True

    def join(self, timeout: float | None = None) -> None:
        raise RuntimeError(f"cannot join {self.name}: it is a simulated thread")

    def __repr__(self) -> str:
        return f"<SimulatedThread({self.name}, {self.ident})>"


def local_key(scheduler: StepScheduler | None) -> Callable[[], Hashable]:
    """How a :class:`SimLocal` made now tells threads apart: by simulated thread on
    ``scheduler``, else by OS thread."""
    if scheduler is None:
        return _thread.get_ident
    return scheduler.current_thread


_READ_ONLY_DICT = "{!r} object attribute '__dict__' is read-only"


class SimLocal:
    """``threading.local`` for simulated threads (see the module docstring)."""

    __slots__ = ("__dict__", "__weakref__", "_local_impl")

    _local_impl: tuple[Callable[[], Hashable], tuple[Any, ...], dict[str, Any], dict[Any, Any]]

    def __new__(cls, /, *args: Any, **kwargs: Any) -> SimLocal:
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        from .patching import scheduler_here  # imports this module

        self = object.__new__(cls)
        key = local_key(scheduler_here())
        dicts: dict[Any, Any] = {key(): object.__getattribute__(self, "__dict__")}
        object.__setattr__(self, "_local_impl", (key, args, kwargs, dicts))
        return self

    def _local_switch(self) -> None:
        """Make ``__dict__`` the calling thread's, running ``__init__`` on first use."""
        key, args, kwargs, dicts = object.__getattribute__(self, "_local_impl")
        thread = key()
        namespace = dicts.get(thread)
        if namespace is not None:
            object.__setattr__(self, "__dict__", namespace)
            return
        namespace = dicts[thread] = {}
        object.__setattr__(self, "__dict__", namespace)
        init = type(self).__init__
        if init is not object.__init__:
            init(self, *args, **kwargs)

    def __getattribute__(self, name: str) -> Any:
        SimLocal._local_switch(self)
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__dict__":
            raise AttributeError(
                f"{type(self).__name__!r} object attribute '__dict__' is read-only"
            )
        SimLocal._local_switch(self)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name == "__dict__":
            raise AttributeError(
                f"{type(self).__name__!r} object attribute '__dict__' is read-only"
            )
        SimLocal._local_switch(self)
        object.__delattr__(self, name)
