"""Deferral: moving the rest of a call to another thread of execution.

A function running on the reactor thread may end by returning ``defer_to_thread(f, ...)``:
the reactor then runs ``f(...)`` in a pool thread, and the caller's *original* Result (with
its callback and result queue) receives ``f``'s outcome. ``defer(f, ...)`` does the same
onto the reactor queue (from a pool thread, or to yield the reactor to queued calls).
A Deferral cannot cross processes: returned from work in another process (a process
pool, a cluster), it arrives as a :class:`CrossedProcess`, and the call's Result fails
with the ``TypeError`` that says so.

The continuation runs in a copy of the context current when ``defer_to_thread``/``defer``
was called, and is never refused by a bounded pool queue: it is the rest of work already
accepted. If its destination has shut down, the Result fails with ``RuntimeError``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, Generic, ParamSpec, TypeVar

from .arguments import check_callable
from .names import callable_name

__all__ = ["CrossedProcess", "Deferral", "defer", "defer_to_thread"]

P = ParamSpec("P")
T = TypeVar("T")


class Deferral(Generic[T]):
    """The rest of a call, returned by the function it continues. Create with
    :func:`defer_to_thread` or :func:`defer`."""

    __slots__ = ("args", "context", "fn", "kwargs", "to_thread")

    def __init__(
        self,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        to_thread: bool,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.context = contextvars.copy_context()
        self.to_thread = to_thread

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by a process pool or cluster worker, as what its function returned: it
        # arrives as a CrossedProcess, which fails the call's Result with a clear error.
        # Refusing to pickle would not do: Dask then never delivers the task's outcome.
        return (CrossedProcess, (repr(self),))

    def __repr__(self) -> str:
        where = "thread" if self.to_thread else "reactor"
        return f"<Deferral of {callable_name(self.fn)} to {where}>"


class CrossedProcess:
    """What a Deferral becomes once pickled: it cannot be continued in this process."""

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description

    def error(self) -> TypeError:
        return TypeError(
            f"{self.description} cannot leave its process: defer() and defer_to_thread() "
            "hand work to the Reactor that ran the call, and work running in another "
            "process (a process pool, a cluster) has none; return the value instead, and "
            "finish on the reactor thread with callback= or reactor.call"
        )

    def __repr__(self) -> str:
        return f"<CrossedProcess {self.description}>"


def defer_to_thread(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Deferral[T]:
    """Return this from a reactor-thread call to finish it in a pool thread."""
    check_callable(func, "func")
    return Deferral(func, args, kwargs, to_thread=True)


def defer(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Deferral[T]:
    """Return this from a call to finish it on the reactor thread, after calls queued before."""
    check_callable(func, "func")
    return Deferral(func, args, kwargs, to_thread=False)
