"""The library names a failing callable in its logs by its qualified name, never by its
repr: a ``functools.partial`` carrying ``api_key=`` must not write the key to the logs."""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from asyncthreads import Result
from asyncthreads.names import callable_name
from asyncthreads.testing import Simulation

SECRET = "sk-live-0123456789"


def send(message: str, *, api_key: str) -> None:
    raise ConnectionError("refused")


def on_done(result: Future[Any], *, api_key: str) -> None:
    raise ValueError("callback failed")


class Client:
    def send(self, message: str, *, api_key: str) -> None:
        raise ConnectionError("refused")


@pytest.fixture
def sim() -> Iterator[Simulation]:
    with Simulation() as simulation:
        yield simulation


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR, logger="asyncthreads")
    return caplog


def test_a_raising_done_callback_is_logged_by_name_not_by_its_arguments(
    sim: Simulation, errors: pytest.LogCaptureFixture
) -> None:
    result = Result[int](sim.scheduler)
    result.add_done_callback(functools.partial(on_done, api_key=SECRET))
    result.set_result(1)

    assert "done-callback on_done raised" in errors.text
    assert SECRET not in errors.text


def test_a_raising_periodic_task_is_logged_by_name_not_by_its_arguments(
    sim: Simulation, errors: pytest.LogCaptureFixture
) -> None:
    reactor = sim.reactor(1)
    reactor.call_every(1.0, functools.partial(send, "hello", api_key=SECRET))
    reactor.call_every(1.0, send, "hello", api_key=SECRET)
    sim.advance(1.0)

    assert errors.text.count("periodic task send stopped") == 2
    assert SECRET not in errors.text


def test_a_failed_task_never_retrieved_is_logged_by_name_not_by_its_arguments(
    sim: Simulation, errors: pytest.LogCaptureFixture
) -> None:
    pool = sim.thread_pool(1)
    pool.submit(functools.partial(Client().send, "hello", api_key=SECRET))
    sim.run_until_idle()
    sim.scheduler.unretrieved.clear()  # kept for the pytest plugin; logged when collected

    gc.collect()
    assert "exception in Client.send" in errors.text
    assert SECRET not in errors.text


def test_a_task_is_named_in_traces_by_its_function_not_by_its_arguments(sim: Simulation) -> None:
    pool = sim.thread_pool(0)
    task = pool.submit(functools.partial(send, "hello", api_key=SECRET))

    assert task.name == "send"  # type: ignore[attr-defined]
    task.cancel()


@pytest.mark.parametrize(
    ("fn", "name"),
    [
        (send, "send"),
        (functools.partial(functools.partial(send, "x"), api_key=SECRET), "send"),
        (Client().send, "Client.send"),
        (Client(), "Client object"),
    ],
    ids=["function", "nested partial", "bound method", "callable object"],
)
def test_callable_name_is_a_qualified_name_never_a_repr(fn: object, name: str) -> None:
    assert callable_name(fn) == name
