"""Static checks of the public typing, run by mypy (not by pytest: nothing here is called).

A change that loses a type here fails CI's mypy step.
"""

from __future__ import annotations

from typing import assert_type

from asyncthreads import Deferral, Reactor, Result, ThreadPool, defer, defer_to_thread


def parse(text: str) -> int:
    return int(text)


def parse_in_thread(text: str) -> Deferral[int]:
    return defer_to_thread(parse, text)


def parse_on_reactor(text: str) -> Deferral[int]:
    return defer(parse, text)


def on_number(value: int) -> None:
    pass


def reactor_calls_are_typed_by_the_function_result(reactor: Reactor) -> None:
    assert_type(reactor.call(parse, "1"), Result[int])
    assert_type(reactor.call_later(1.0, parse, "1"), Result[int])
    assert_type(reactor.call_at(1.0, parse, "1"), Result[int])
    assert_type(reactor.call_in_thread(parse, "1"), Result[int])
    assert_type(reactor.call_in_thread_later(1.0, parse, "1"), Result[int])
    assert_type(reactor.call_every(1.0, parse, "1"), Result[None])


def a_deferral_is_typed_by_the_value_it_ends_with(reactor: Reactor, pool: ThreadPool) -> None:
    assert_type(reactor.call(parse_in_thread, "1", callback=on_number), Result[int])
    assert_type(reactor.call_later(1.0, parse_in_thread, "1"), Result[int])
    assert_type(reactor.call_in_thread(parse_on_reactor, "1"), Result[int])
    assert_type(pool.queue_task(parse_in_thread, "1", callback=on_number), Result[int])


def submit_and_deferrals_check_their_arguments(pool: ThreadPool) -> None:
    assert_type(pool.submit(parse, "1"), Result[int])
    assert_type(defer_to_thread(parse, "1"), Deferral[int])
    pool.submit(parse, 1)  # type: ignore[arg-type]
    defer(parse, 1)  # type: ignore[arg-type]
