"""Task: one queued function call, and how it runs.

A Task *is* the call's Result (a subclass of :class:`Result`, so one object per call, not
two), carrying what to call, the ``contextvars`` context to call it in (a copy of the
caller's, taken when the call was queued) and the optional ``callback``. Its ``run()`` is
the whole life of a call on whichever actor runs it:

1. skip it if its Result was cancelled (otherwise the Result is now running);
2. call the function in its context;
3. if the function returned a :class:`Deferral`, hand the rest to the Result's owner
   (Reactor or ThreadPool) and stop here: the Result stays running;
4. call ``callback(value)`` in the same thread and context;
5. finish the Result with the value, or fail it with whatever 2-4 raised.

``run()`` never raises, so a task can never kill the thread that runs it (but a
``BaseException`` from a done-callback is re-raised after every callback ran, see
:mod:`.result`).

A ``result_q`` receives the ended Result by ``put_nowait()`` when it has one (every
``queue`` queue does), so that a full bounded queue never blocks the thread completing
the Result (a pool worker, the reactor thread): the overflow is logged at ERROR on the
``asyncthreads`` logger, naming the call, and the Result itself ends as usual. An object
with ``put()`` only receives it by ``put()``, which is that object's own policy.
"""

from __future__ import annotations

import contextvars
import logging
import queue
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .arguments import check_optional_callable, check_result_q
from .deferral import Deferral
from .names import callable_name
from .result import PENDING, Result, Watchers

if TYPE_CHECKING:
    from .scheduler import Scheduler

__all__ = ["Router", "Task"]

T = TypeVar("T")

logger = logging.getLogger("asyncthreads")


class Router(Protocol):
    """The owner of a Result: it knows where a deferred continuation goes."""

    def _route(self, task: Task[Any], to_thread: bool) -> None:
        """Queue ``task`` (already re-aimed at its continuation). Raises if impossible."""
        ...


class Task(Result[T]):
    """A queued function call and its Result. See the module docstring."""

    __slots__ = ("_args", "_context", "_extras", "_fn")

    # (keyword arguments or None, callback or None), or None when there are neither: most
    # calls have neither, and a slot that holds None still costs every pass of the
    # garbage collector a visit.
    _extras: tuple[dict[str, Any] | None, Callable[[Any], object] | None] | None

    def __init__(
        self,
        scheduler: Scheduler,
        owner: object,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        callback: Callable[[T], object] | None = None,
        result_q: Any = None,
    ) -> None:
        """Raises TypeError for a bad ``callback`` or ``result_q`` (the caller checks
        ``fn``, whose name in the message is the caller's)."""
        # Result.__init__, inlined: this runs for every call.
        self._state = PENDING
        self._watchers = None
        self._scheduler = scheduler
        self._owner = owner
        self._actor = None
        self._on_cancel = None
        self._fn = fn
        self._args = args
        context = contextvars.copy_context()
        # An empty context is not kept: the call will run in a new empty one, which is
        # the same thing, made when it runs. Most programs set no context variables, and a
        # pending call then holds one object less.
        self._context = context if context else None
        if kwargs or callback is not None:
            self._extras = (kwargs or None, callback)
        else:
            self._extras = None
        if result_q is not None or callback is not None:
            check_optional_callable(callback, "callback")
            check_result_q(result_q)
            if result_q is not None:
                put_nowait = getattr(result_q, "put_nowait", None)
                if callable(put_nowait):
                    self._watchers = Watchers([_Delivery(put_nowait, fn)])
                else:
                    self._watchers = Watchers([result_q.put])

    @property
    def future(self) -> Task[T]:
        """The Result this work completes: the Task itself."""
        return self

    def run(self) -> None:
        if not self._begin():
            self._release()
            return
        context = self._context
        if context is None:
            context = contextvars.Context()
        try:
            extras = self._extras
            if extras is None or extras[0] is None:
                value = context.run(self._fn, *self._args)
            else:
                value = context.run(self._fn, *self._args, **extras[0])
            if value.__class__ is Deferral:
                self._fn = value.fn
                self._args = value.args
                callback = None if extras is None else extras[1]
                if value.kwargs or callback is not None:
                    self._extras = (value.kwargs or None, callback)
                else:
                    self._extras = None
                self._context = value.context
                owner: Router = self._owner  # type: ignore[assignment]
                owner._route(self, value.to_thread)
                return
            if extras is not None and extras[1] is not None:
                context.run(extras[1], value)
        except BaseException as exc:  # a task must never kill its thread
            # Settled before the release: the report of an exception nobody retrieves
            # names the function.
            self._settle(None, exc)
            self._release()
            # The traceback keeps this frame alive; drop what would make a cycle with it.
            self = None  # type: ignore[assignment]
        else:
            # self._release(), inlined: this is every call's path.
            self._fn = self._args = self._extras = self._context = None  # type: ignore[assignment]
            self._settle(value, None)

    def _release(self) -> None:
        # The call is over: let go of its function and arguments, as a finished
        # concurrent.futures work item does.
        self._fn = self._args = self._extras = self._context = None  # type: ignore[assignment]

    @property
    def name(self) -> str:
        """The function's qualified name, for traces and reports (never its arguments)."""
        fn = self._fn
        if fn is None:
            return "(finished call)"
        return callable_name(fn)

    def _describe(self) -> str:
        return f"{self.name} ({super()._describe()})"


class _Delivery:
    """A done-callback putting the Result into a ``result_q`` without blocking."""

    __slots__ = ("fn", "put_nowait")

    def __init__(self, put_nowait: Callable[[Any], object], fn: Callable[..., Any]) -> None:
        self.put_nowait = put_nowait
        self.fn = fn  # named if the queue is full (the Task has let go of it by then)

    def __call__(self, result: Result[Any]) -> None:
        try:
            self.put_nowait(result)
        except queue.Full:
            logger.error(
                "result_q is full: the Result of %s (%r) was not delivered to it",
                callable_name(self.fn),
                result,
            )
