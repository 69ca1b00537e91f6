"""The command line: ``python -m asyncthreads <command>``.

Commands:

* ``demo``: a short, real-time tour of a Reactor and its ThreadPool
  (see :mod:`asyncthreads.demo`).
* ``bench``: the side-by-side benchmarks against asyncio, ``concurrent.futures``,
  ``sched`` (and Twisted and trio, if installed). They live in ``benchmarks/`` of a
  source checkout, not in the installed package: run it from the repository root.
  Its arguments go to ``python -m benchmarks`` (``--quick``, ``--only NAME``, ``--help``).

Each command is a function taking the parsed arguments and returning the exit status,
registered in :func:`build_parser`; a command's module is imported only when it runs.
With no command, the help is printed and the exit status is 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def _demo(args: argparse.Namespace) -> int:
    from .demo import run

    run()
    return 0


def _bench(args: argparse.Namespace) -> int:
    # benchmarks/ is not installed with the library: take it from the current directory,
    # the root of a source checkout, and from nowhere else.
    root = os.getcwd()
    if not os.path.isfile(os.path.join(root, "benchmarks", "__init__.py")):
        print(
            "python -m asyncthreads bench: no benchmarks/ package in the current directory "
            f"({root}). The benchmarks ship with the source, not the installed library: "
            "run this from the root of an asyncthreads checkout.",
            file=sys.stderr,
        )
        return 2
    if not sys.path or sys.path[0] != root:
        sys.path.insert(0, root)
    cli = importlib.import_module("benchmarks.cli")
    found = os.path.dirname(os.path.dirname(os.path.abspath(cli.__file__ or "")))
    if os.path.normcase(found) != os.path.normcase(os.path.abspath(root)):
        print(
            f"python -m asyncthreads bench: imported benchmarks from {found}, not from the "
            f"current directory {root}; run python -m benchmarks instead.",
            file=sys.stderr,
        )
        return 2
    status: int = cli.main(args.bench_args, prog="python -m asyncthreads bench")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m asyncthreads",
        description="asyncthreads: a Reactor and a ThreadPool for threaded event processing.",
    )
    commands = parser.add_subparsers(title="commands", dest="command", metavar="<command>")

    demo = commands.add_parser(
        "demo",
        help="run a short, real-time tour of a Reactor and its ThreadPool",
        description="Run a small order-processing service for about two seconds and print "
        "what runs when, and on which thread.",
    )
    demo.set_defaults(handler=_demo)

    # Every argument after "bench" goes to the benchmarks' own parser, --help included:
    # with no prefix characters, this parser reads none of them as its own options.
    bench = commands.add_parser(
        "bench",
        help="benchmark against the standard library's peers (from a source checkout)",
        add_help=False,
        prefix_chars="\0",
    )
    bench.add_argument("bench_args", nargs="*", metavar="ARGS")
    bench.set_defaults(handler=_bench)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
