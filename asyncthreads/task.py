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

``run()`` never raises, so a task can never kill the thread that runs it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .deferral import Deferral
from .result import PENDING, Result

if TYPE_CHECKING:
    from .scheduler import Scheduler

__all__ = ["Router", "Task"]

T = TypeVar("T")


class Router(Protocol):
    """The owner of a Result: it knows where a deferred continuation goes."""

    def _route(self, task: Task[Any], to_thread: bool) -> None:
        """Queue ``task`` (already re-aimed at its continuation). Raises if impossible."""
        ...


class Task(Result[T]):
    """A queued function call and its Result. See the module docstring."""

    __slots__ = ("_args", "_callback", "_context", "_fn", "_kwargs")

    def __init__(
        self,
        scheduler: Scheduler,
        owner: object,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        callback: Callable[[T], object] | None,
    ) -> None:
        # Result.__init__, inlined: this runs for every call.
        self._state = PENDING
        self._result = None
        self._exception = None
        self._waiter_list = None
        self._callbacks = None
        self._cond = None
        self._scheduler = scheduler
        self._owner = owner
        self._actor = None
        self._on_cancel = None
        self._fn = fn
        self._args = args
        self._kwargs = kwargs or None  # most calls have none: keep no empty dict alive
        self._context = contextvars.copy_context()
        self._callback = callback

    @property
    def future(self) -> Task[T]:
        """The Result this work completes: the Task itself."""
        return self

    def run(self) -> None:
        if not self._begin():
            self._release()
            return
        try:
            kwargs = self._kwargs
            if kwargs is None:
                value = self._context.run(self._fn, *self._args)
            else:
                value = self._context.run(self._fn, *self._args, **kwargs)
            if value.__class__ is Deferral:
                self._fn = value.fn
                self._args = value.args
                self._kwargs = value.kwargs or None
                self._context = value.context
                owner: Router = self._owner  # type: ignore[assignment]
                owner._route(self, value.to_thread)
                return
            if self._callback is not None:
                self._context.run(self._callback, value)
        except BaseException as exc:  # a task must never kill its thread
            self._release()
            self._settle(None, exc)
            # The traceback keeps this frame alive; drop what would make a cycle with it.
            self = None  # type: ignore[assignment]
        else:
            # self._release(), inlined: this is every call's path.
            self._fn = self._args = self._kwargs = self._callback = self._context = None  # type: ignore[assignment]
            self._settle(value, None)

    def _release(self) -> None:
        # The call is over: let go of its function and arguments, as a finished
        # concurrent.futures work item does.
        self._fn = self._args = self._kwargs = self._callback = self._context = None  # type: ignore[assignment]

    @property
    def name(self) -> str:
        """The function's qualified name, for traces and reports."""
        fn = self._fn
        if fn is None:
            return "(finished call)"
        return getattr(fn, "__qualname__", None) or repr(fn)
