"""Task: one queued function call, and how it runs.

A Task carries what to call, the ``contextvars`` context to call it in (a copy of the
caller's, taken when the call was queued), the optional ``callback`` and the Result. Its
``run()`` is the whole life of a call on whichever actor runs it:

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
from typing import Any, Generic, Protocol, TypeVar

from .deferral import Deferral
from .result import Result

__all__ = ["Router", "Task"]

T = TypeVar("T")


class Router(Protocol):
    """The owner of a Result: it knows where a deferred continuation goes."""

    def _route(self, task: Task[Any], to_thread: bool) -> None:
        """Queue ``task`` (already re-aimed at its continuation). Raises if impossible."""
        ...


class Task(Generic[T]):
    """A queued function call. See the module docstring."""

    __slots__ = ("args", "callback", "context", "fn", "kwargs", "result")

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        callback: Callable[[T], object] | None,
        result: Result[T],
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.context = contextvars.copy_context()
        self.callback = callback
        self.result = result

    def run(self) -> None:
        result = self.result
        if not result._begin():
            return
        try:
            value = self.context.run(self.fn, *self.args, **self.kwargs)
            if value.__class__ is Deferral:
                self.fn = value.fn
                self.args = value.args
                self.kwargs = value.kwargs
                self.context = value.context
                owner: Router = result._owner  # type: ignore[assignment]
                owner._route(self, value.to_thread)
                return
            if self.callback is not None:
                self.context.run(self.callback, value)
        except BaseException as exc:  # a task must never kill its thread
            result._settle(None, exc)
            # The traceback keeps this frame alive; drop what would make a cycle with it.
            self = result = None  # type: ignore[assignment]
        else:
            result._settle(value, None)

    @property
    def name(self) -> str:
        """The function's qualified name, for traces and reports."""
        fn = self.fn
        return getattr(fn, "__qualname__", None) or repr(fn)

    def __repr__(self) -> str:
        return f"<Task {self.name} {self.result!r}>"
