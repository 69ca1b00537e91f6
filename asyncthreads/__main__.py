"""The command line: ``python -m asyncthreads <command>``.

Commands:

* ``demo``: a short, real-time tour of a Reactor and its ThreadPool
  (see :mod:`asyncthreads.demo`).

Each command is a function taking the parsed arguments and returning the exit status,
registered in :func:`build_parser`; a command's module is imported only when it runs.
With no command, the help is printed and the exit status is 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def _demo(args: argparse.Namespace) -> int:
    from .demo import run

    run()
    return 0


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
