"""How the library names a callable in logs, traces and reports.

By its qualified name, never by its ``repr``: a ``functools.partial`` (or any object
holding bound arguments) would otherwise write those arguments, a ``password=`` or an
``api_key=`` among them, into the logs.
"""

from __future__ import annotations

import functools

__all__ = ["callable_name"]


def callable_name(fn: object) -> str:
    """``fn``'s ``__qualname__``: of the wrapped function for a ``functools.partial`` (or
    ``partialmethod``), of its class for a callable object without one. Never a repr."""
    while isinstance(fn, (functools.partial, functools.partialmethod)):
        fn = fn.func
    name = getattr(fn, "__qualname__", None)
    if isinstance(name, str):
        return name
    return f"{type(fn).__qualname__} object"
