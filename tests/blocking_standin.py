"""A throwaway stand-in for the StepScheduler's blocking interface (greenlet based).

Only for testing the simulated primitives until the scheduler itself suspends simulated
threads; FIFO, no chooser. Removed once the real interface lands.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import greenlet  # type: ignore[import-untyped]

from asyncthreads import DeadlockError
from asyncthreads.testing import VirtualClock
from asyncthreads.testing.sim_blocking import Blocker


class StandInThread:
    def __init__(self, name: str, ident: int, glet: greenlet.greenlet | None) -> None:
        self.name = name
        self.ident = ident
        self.glet = glet
        self.woke = False
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.blocked_on: Blocker | None = None


class StandInScheduler:
    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.test_thread = StandInThread("MainThread", 1, None)
        self._current = self.test_thread
        self._ready: deque[StandInThread] = deque()
        self._timed: dict[StandInThread, float] = {}
        self._threads: list[StandInThread] = []
        self._test_woken = False

    def current_thread(self) -> StandInThread:
        return self._current

    def spawn(self, fn: Callable[[], Any]) -> StandInThread:
        thread = StandInThread(f"Worker-{len(self._threads) + 1}", len(self._threads) + 2, None)

        def body() -> None:
            try:
                thread.value = fn()
            except BaseException as error:
                thread.error = error
            thread.done = True
            self._test_woken = True

        thread.glet = greenlet.greenlet(body, parent=greenlet.getcurrent())
        self._threads.append(thread)
        self._ready.append(thread)
        return thread

    def join(self, thread: StandInThread, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else self.clock.now() + timeout
        while not thread.done:
            if not self.block(_Joining(), deadline):
                raise TimeoutError
        if thread.error is not None:
            raise thread.error
        return thread.value

    def wake(self, thread: Any) -> None:
        if thread is self.test_thread:
            self._test_woken = True
        elif thread.blocked_on is not None and not thread.woke:
            thread.woke = True
            self._timed.pop(thread, None)
            self._ready.append(thread)

    def schedule_point(self) -> None:
        pass

    def block(self, waiting_for: Blocker, deadline: float | None) -> bool:
        me = self._current
        if me is self.test_thread:
            return self._drive(waiting_for, deadline)
        me.woke = False
        me.blocked_on = waiting_for
        if deadline is not None:
            self._timed[me] = deadline
        assert me.glet is not None
        assert me.glet.parent is not None
        me.glet.parent.switch()
        me.blocked_on = None
        return me.woke

    def _drive(self, waiting_for: Blocker, deadline: float | None) -> bool:
        self._test_woken = False
        while True:
            while self._ready:
                thread = self._ready.popleft()
                self._current = thread
                try:
                    assert thread.glet is not None
                    thread.glet.switch()
                finally:
                    self._current = self.test_thread
                if self._test_woken:
                    return True
            if self._test_woken:
                return True
            next_time = min(self._timed.values(), default=None)
            if deadline is not None and (next_time is None or next_time > deadline):
                self.clock._move_to(max(deadline, self.clock.now()))
                return False
            if next_time is None:
                lines = [
                    f"{t.name} waits for {t.blocked_on.describe()}"
                    for t in self._threads
                    if t.blocked_on
                ]
                raise DeadlockError(
                    f"MainThread waits for {waiting_for.describe()}; nothing can wake it\n"
                    + "\n".join(lines)
                )
            self.clock._move_to(max(next_time, self.clock.now()))
            for thread, when in list(self._timed.items()):
                if when <= next_time:
                    del self._timed[thread]
                    self._ready.append(thread)


class _Joining:
    def describe(self) -> str:
        return "a worker's end"

    def holders(self) -> list[Any]:
        return []


class StandInSimulation:
    """Just enough of a Simulation for ``patched()``, on the stand-in scheduler."""

    def __init__(self) -> None:
        self.scheduler = StandInScheduler()
        self.clock = self.scheduler.clock

    @property
    def now(self) -> float:
        return self.clock.now()

    def patched(self) -> Any:
        from asyncthreads.testing.patching import patched

        return patched(self)  # type: ignore[arg-type]
