"""Side-by-side benchmarks of asyncthreads against its peers: ``python -m benchmarks``.

Also ``python -m asyncthreads bench`` from the repository root. Five workloads, each run
on asyncthreads and on the standard library's nearest equivalent in the same process,
interleaved; Twisted and trio rows appear when they are installed
(``pip install -e '.[bench]'``):

1. ``pool``: 100,000 trivial tasks through 4 workers, each Result waited on.
2. ``call``: 100,000 calls into one serial thread from another.
3. ``timers``: ``call_later`` and cancel, the cost per op as pending timers grow, and the
   memory a pending timer holds.
4. ``simulation``: 1,000 periodic tasks over 600 virtual seconds on the simulation.
5. ``lateness``: how late a timer runs on real threads, idle and with a busy pool.

``--quick`` runs each workload once at a small size (a smoke test for CI, not a
measurement); ``--only NAME`` runs one workload. See :mod:`benchmarks.harness` for how to
read the tables.
"""

from .cli import main

__all__ = ["main"]
