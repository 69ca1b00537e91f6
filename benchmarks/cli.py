"""The command line: ``python -m benchmarks [--quick] [--only NAME] [--runs N]
[--markdown PATH]``."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Protocol

from .config import Config, peer_versions
from .harness import Verdict
from .markdown import Run, render_page

__all__ = ["WORKLOADS", "main"]

# name -> (module, what it measures); modules are imported only when their workload runs.
WORKLOADS: dict[str, tuple[str, str]] = {
    "pool": ("benchmarks.pool", "trivial tasks through 4 workers, each Result waited on"),
    "call": ("benchmarks.calls", "calls into one serial thread from another"),
    "timers": ("benchmarks.timers", "call_later and cancel; flatness; bytes per timer"),
    "simulation": ("benchmarks.simulation", "periodic tasks on the virtual clock"),
    "lateness": ("benchmarks.lateness", "how late timers run on real threads"),
    "handoff": ("benchmarks.handoff", "a lock handed between two simulated vs real threads"),
    "races": ("benchmarks.races", "schedules each explorer needs to find each planted race"),
    "scale": ("benchmarks.scale", "CPU-bound tasks through the Reactor on process pools and Dask"),
}


class Report(Protocol):
    def render(self) -> str: ...

    def verdicts(self, workload: str) -> list[Verdict]: ...


class Workload(Protocol):
    def run(self, config: Config) -> Sequence[Report]: ...


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Benchmark asyncthreads side by side with the standard library "
        "(and Twisted and trio, when installed), interleaving runs, and print a table per "
        "workload: medians, min-max, and how many times better asyncthreads is than each "
        "peer (higher = asyncthreads better).",
        epilog="workloads: "
        + "; ".join(f"{name}: {what}" for name, (_, what) in WORKLOADS.items()),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="each workload once at a small size, in a few seconds (a smoke test: its "
        "numbers are not measurements)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(WORKLOADS),
        metavar="NAME",
        help="run only this workload (may be repeated): " + ", ".join(WORKLOADS),
    )
    parser.add_argument(
        "--runs",
        type=int,
        metavar="N",
        help="interleaved runs per contender (default: 1 with --quick, else per workload)",
    )
    parser.add_argument(
        "--markdown",
        metavar="PATH",
        help="also write the results as a Markdown page to PATH (the manual includes "
        "docs/benchmarks/results.md)",
    )
    return parser


def machine() -> str:
    """Cores, CPU model, Python, OS: the line a published table needs beside it."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {model}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main(argv: Sequence[str] | None = None, prog: str = "python -m benchmarks") -> int:
    args = build_parser(prog).parse_args(argv)
    if args.runs is not None and args.runs < 1:
        print(f"{prog}: --runs must be at least 1", file=sys.stderr)
        return 2
    config = Config(quick=args.quick, runs=args.runs)
    names = list(dict.fromkeys(args.only)) if args.only else list(WORKLOADS)
    peers = ", ".join(
        f"{name} {version}" if version else f"{name} (not installed)"
        for name, version in peer_versions().items()
    )
    mode = "quick smoke run: sizes are small and numbers mean nothing" if args.quick else "full"
    print(f"asyncthreads benchmarks ({mode})")
    print(f"machine: {machine()}{_load()}")
    print(f"optional peers: {peers}")
    print("ratios: how many times better asyncthreads is (higher = asyncthreads better)")
    started = time.perf_counter()
    verdicts: list[Verdict] = []
    printed: list[Report] = []
    for name in names:
        module: Workload = importlib.import_module(WORKLOADS[name][0])
        workload_started = time.perf_counter()
        reports = module.run(config)
        elapsed = time.perf_counter() - workload_started
        for report in reports:
            print()
            print(report.render())
            verdicts += report.verdicts(name)
            printed.append(report)
        print(f"  ({name}: {elapsed:.1f}s)", flush=True)
    if verdicts:
        print()
        print(_summary(verdicts))
    seconds = time.perf_counter() - started
    print(f"\ntotal: {seconds:.1f}s{_load()}")
    if args.markdown:
        run = Run(
            command=shlex.join([*prog.split(), *(argv if argv is not None else sys.argv[1:])]),
            quick=args.quick,
            machine=machine(),
            load=_load(),
            peers=peers,
            commit=_commit(),
            seconds=seconds,
        )
        with open(args.markdown, "w", encoding="utf-8") as page:
            page.write(render_page(run, printed, verdicts))
        print(f"wrote {args.markdown}")
    return 0


def _commit() -> str | None:
    """The checkout's commit (with ``+`` if it has changes), or None outside a git clone."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+" if dirty else "") if head else None


def _load() -> str:
    """The load average, where there is one: other work on the machine skews the numbers."""
    try:
        one, five, _ = os.getloadavg()
    except (AttributeError, OSError):
        return ""
    return f"; load average {one:.2f} (1 min), {five:.2f} (5 min)"


def _summary(verdicts: list[Verdict]) -> str:
    met = sum(v.met for v in verdicts)
    width = max(len(f"{v.workload}: {v.what}") for v in verdicts)
    lines = [f"targets from the issue: {met} of {len(verdicts)} met"]
    for v in verdicts:
        what = f"{v.workload}: {v.what}"
        verdict = "ok" if v.met else "MISSED"
        lines.append(f"  {what:<{width}}  {v.measured:>10}  target {v.target:<9} {verdict}")
    return "\n".join(lines)
