"""Simulated ``threading.Lock``, ``RLock`` and ``Condition``: blocking suspends a simulated thread.

Each behaves as its standard library namesake (the same return values, reentrancy and
errors: releasing an unlocked Lock, or an RLock the caller does not own, raises
``RuntimeError``; waiting on or notifying a Condition whose lock the caller does not hold
raises ``RuntimeError``), with three differences a test relies on:

* a blocking acquire or wait suspends only the calling simulated thread (through the
  scheduler's ``block``), and its timeout is in virtual seconds;
* every acquire and release, and so every wait (which releases and re-acquires), is a
  schedule point: the chooser may run another ready simulated thread there first (FIFO,
  the default, continues the caller); a notify is not, the release after it is;
* a lock wakes its waiters in the order they came, but, as a real lock, promises no
  fairness: a thread that releases and re-acquires before a woken waiter runs keeps it.

They run on one simulation's threads only; ``with sim.patched():`` makes
``threading.Lock()`` and the rest return them (see :mod:`.patching`).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .sim_blocking import AnyThread, deadline_after, label

if TYPE_CHECKING:
    from ..scheduler import Lock as LockProtocol
    from .step_scheduler import StepScheduler

__all__ = ["SimCondition", "SimLock", "SimRLock"]

T = TypeVar("T")


def _acquire_deadline(scheduler: StepScheduler, blocking: bool, timeout: float) -> float | None:
    """Check ``acquire``'s arguments as ``threading.Lock.acquire`` does; the deadline."""
    if not blocking:
        if timeout != -1:
            raise ValueError("can't specify a timeout for a non-blocking call")
        return scheduler.clock.now()
    if timeout == -1:
        return None
    if timeout < 0:
        raise ValueError("timeout value must be positive")
    return deadline_after(scheduler.clock, timeout)


def _unwinding(scheduler: StepScheduler) -> bool:
    """True once the simulation is closed: its blocked threads are being ended.

    A thread ended while it waited to re-acquire a Condition's lock unwinds through its
    ``with`` block, whose exit releases a lock it does not hold; that release is
    ignored then, so that the thread ends with the ``GreenletExit`` that ended it.
    """
    return scheduler._closed


class SimLock:
    """A simulated ``threading.Lock`` (see the module docstring)."""

    __slots__ = ("_holder", "_scheduler", "_waiters", "label")

    def __init__(self, scheduler: StepScheduler, *, name: str | None = None) -> None:
        self._scheduler = scheduler
        self._holder: AnyThread | None = None  # who acquired it last, while locked
        self._waiters: deque[AnyThread] = deque()
        self.label = label(scheduler, type(self).__name__[3:]) if name is None else name

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock; False if not acquired (non-blocking, or timed out)."""
        scheduler = self._scheduler
        # The arguments are checked only when given: acquire() is the hot path.
        deadline = (
            None
            if blocking is True and timeout == -1
            else _acquire_deadline(scheduler, blocking, timeout)
        )
        scheduler.schedule_point()
        me = scheduler.current_thread()
        if self._holder is None:
            self._holder = me
            if scheduler.operations is not None:
                scheduler.operations.add(scheduler, "acquire", self.label)
            return True
        if not blocking:
            return False
        acquired = self._wait_for_release(me, deadline)
        if scheduler.operations is not None:
            verb = "acquire" if acquired else "time out acquiring"
            scheduler.operations.add(scheduler, verb, self.label)
        return acquired

    def _wait_for_release(self, me: AnyThread, deadline: float | None) -> bool:
        scheduler = self._scheduler
        waiters = self._waiters
        waiters.append(me)
        try:
            while self._holder is not None:
                if not scheduler.block(self, deadline) and self._holder is not None:
                    return False
            self._holder = me
            return True
        finally:
            waiters.remove(me)

    def release(self) -> None:
        """Release the lock (any thread may); ``RuntimeError`` if it is not locked."""
        if self._holder is None:
            if _unwinding(self._scheduler):
                return
            raise RuntimeError("release unlocked lock")
        self._holder = None
        if self._scheduler.operations is not None:
            self._scheduler.operations.add(self._scheduler, "release", self.label)
        if self._waiters:
            self._scheduler.wake(self._waiters[0])
        self._scheduler.schedule_point()

    def locked(self) -> bool:
        """True if the lock is held."""
        return self._holder is not None

    def _at_fork_reinit(self) -> None:
        self._holder = None

    __enter__ = acquire

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- for deadlock reports -------------------------------------------------------------

    def describe(self) -> str:
        holder = self._holder
        held = f"held by {holder.name}" if holder is not None else "free"
        return f"{self.label}, {held}"

    def holders(self) -> list[AnyThread]:
        return [] if self._holder is None else [self._holder]

    def __repr__(self) -> str:
        return f"<simulated {self.describe()}>"


class SimRLock(SimLock):
    """A simulated ``threading.RLock``: its owner may acquire it again, and only its
    owner may release it (``RuntimeError`` otherwise)."""

    __slots__ = ("_count",)

    def __init__(self, scheduler: StepScheduler, *, name: str | None = None) -> None:
        super().__init__(scheduler, name=name)
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire the lock, or count one more level if the caller owns it."""
        scheduler = self._scheduler
        deadline = _acquire_deadline(scheduler, blocking, timeout)
        scheduler.schedule_point()
        me = scheduler.current_thread()
        if self._holder is me:
            self._count += 1
            return True
        if self._holder is None:
            self._holder = me
            self._count = 1
        elif not blocking:
            return False
        elif self._wait_for_release(me, deadline):
            self._count = 1
        else:
            return False
        if scheduler.operations is not None:
            scheduler.operations.add(scheduler, "acquire", self.label)
        return True

    __enter__ = acquire

    def release(self) -> None:
        """Release one level; the lock is free once every level is released."""
        if self._holder is not self._scheduler.current_thread():
            if _unwinding(self._scheduler):
                return
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if self._count:
            self._scheduler.schedule_point()
            return
        super().release()

    def locked(self) -> bool:
        return self._holder is not None

    def _is_owned(self) -> bool:
        return self._holder is self._scheduler.current_thread()

    def _release_save(self) -> int:
        if not self._is_owned():
            raise RuntimeError("cannot release un-acquired lock")
        count, self._count = self._count, 1
        self.release()
        return count

    def _acquire_restore(self, count: int) -> None:
        self.acquire()
        self._count = count

    def __repr__(self) -> str:
        return f"<simulated {self.describe()} count={self._count}>"


class _Waiting:
    """A thread waiting on a SimCondition, until notified."""

    __slots__ = ("notified", "thread")

    def __init__(self, thread: AnyThread) -> None:
        self.thread = thread
        self.notified = False


class SimCondition:
    """A simulated ``threading.Condition`` on a SimLock or SimRLock (a new SimRLock if
    none is given). Notifying is no schedule point: the release that follows it is.

    On another lock (such as the simulation's own, which a single-threaded world never
    contends), ownership is not checked and waiting does not release it. ``name`` is what
    deadlock reports call it (the Event or Queue it belongs to; by default "Condition
    <n> (made at file:line)").
    """

    __slots__ = ("_lock", "_scheduler", "_waiters", "acquire", "label", "release")

    def __init__(
        self,
        scheduler: StepScheduler,
        lock: SimLock | LockProtocol | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._lock: SimLock | LockProtocol = SimRLock(scheduler) if lock is None else lock
        self.acquire: Callable[..., bool] = self._lock.acquire
        self.release: Callable[[], None] = self._lock.release
        self._waiters: deque[_Waiting] = deque()
        self.label = label(scheduler, "Condition") if name is None else name

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _is_owned(self) -> bool:
        lock = self._lock
        if isinstance(lock, SimRLock):
            return lock._is_owned()
        if isinstance(lock, SimLock):  # as threading.Condition judges a plain Lock
            return lock.locked()
        return True

    def _release_save(self) -> Any:
        lock = self._lock
        if isinstance(lock, SimRLock):
            return lock._release_save()
        if isinstance(lock, SimLock):
            lock.release()
        return None

    def _acquire_restore(self, saved: Any) -> None:
        lock = self._lock
        if isinstance(lock, SimRLock):
            lock._acquire_restore(saved)
        elif isinstance(lock, SimLock):
            lock.acquire()

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, wait until notified or ``timeout`` virtual seconds pass,
        re-acquire it; True unless the wait timed out."""
        if not self._is_owned():
            raise RuntimeError("cannot wait on un-acquired lock")
        scheduler = self._scheduler
        deadline = deadline_after(scheduler.clock, timeout)
        if deadline is not None and deadline <= scheduler.clock.now():
            # A wait that may not block still takes the smallest step of virtual time,
            # as any real wait takes some time: code that polls until a deadline with
            # waits of what remains (concurrent.futures.as_completed does, checking for
            # a remainder below zero) would otherwise spin for ever at one instant.
            deadline = math.nextafter(scheduler.clock.now(), math.inf)
        waiting = _Waiting(scheduler.current_thread())
        self._waiters.append(waiting)
        if scheduler.operations is not None:
            scheduler.operations.add(scheduler, "wait", self.label)
        saved = self._release_save()
        try:
            while not waiting.notified:
                if not scheduler.block(self, deadline):
                    break
            return waiting.notified
        finally:
            if not waiting.notified:
                self._waiters.remove(waiting)
            self._acquire_restore(saved)

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until ``predicate()`` is true or ``timeout`` virtual seconds pass; return
        its last value."""
        deadline = deadline_after(self._scheduler.clock, timeout)
        result = predicate()
        while not result:
            if deadline is None:
                self.wait()
            else:
                remaining = deadline - self._scheduler.clock.now()
                if remaining <= 0:
                    break
                self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiting threads, the longest waiting first."""
        if not self._is_owned():
            raise RuntimeError("cannot notify on un-acquired lock")
        if self._scheduler.operations is not None:
            self._scheduler.operations.add(self._scheduler, "notify", self.label)
        waiters = self._waiters
        while waiters and n > 0:
            waiting = waiters.popleft()
            waiting.notified = True
            self._scheduler.wake(waiting.thread)
            n -= 1

    def notify_all(self) -> None:
        """Wake every waiting thread."""
        self.notify(len(self._waiters))

    notifyAll = notify_all  # the standard library's old name

    # -- for deadlock reports -------------------------------------------------------------

    def describe(self) -> str:
        return self.label

    def holders(self) -> list[AnyThread]:
        lock = self._lock
        return lock.holders() if isinstance(lock, SimLock) else []

    def __repr__(self) -> str:
        return f"<simulated {self.describe()}, {len(self._waiters)} waiting>"
