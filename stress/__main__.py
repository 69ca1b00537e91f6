"""``python -m stress``: the stress and fault suite at length.

    python -m stress --minutes 30              # every scenario, round robin, 30 minutes
    python -m stress --only workload --seed 7  # one scenario, from seed 7
    python -m stress --only interrupts --seed 123 --runs 1   # replay one failing run

Each run draws its seed from the one before (from ``--seed``, or a random one), and a
failure prints the scenario, the seed and the command that runs it again. It stops at
the first failure unless ``--keep-going`` (a run that deadlocked leaves its threads
stuck, which may disturb later runs). Exit status 1 if anything failed.
"""

from __future__ import annotations

import argparse
import faulthandler
import random
import sys
import time

from .escapes import StressFailure
from .scenarios import SCENARIOS

WATCHDOG = 900  # seconds one run may take before every stack is dumped and we exit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stress", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run")
    parser.add_argument("--runs", type=int, default=None, help="stop after this many runs")
    parser.add_argument("--seed", type=int, default=None, help="the first run's seed")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), default=None)
    parser.add_argument("--keep-going", action="store_true", help="do not stop at a failure")
    args = parser.parse_args(argv)
    names = args.only or list(SCENARIOS)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    stop_at = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    runs = failures = 0
    while time.monotonic() < stop_at and (args.runs is None or runs < args.runs):
        name = names[runs % len(names)]
        faulthandler.dump_traceback_later(WATCHDOG, exit=True)
        try:
            summary = SCENARIOS[name](seed)
        except StressFailure as exc:
            failures += 1
            print(f"FAILED {name} seed={seed}: {exc}", flush=True)
            print(f"  again: python -m stress --only {name} --seed {seed} --runs 1", flush=True)
            if not args.keep_going:
                break
        else:
            elapsed = time.monotonic() - started
            print(f"[{elapsed:7.1f}s] ok {name} seed={seed}: {summary}", flush=True)
        finally:
            faulthandler.cancel_dump_traceback_later()
        runs += 1
        seed = random.Random(seed).randrange(2**32)
    print(f"{runs} runs, {failures} failed, in {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
