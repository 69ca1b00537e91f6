"""The command line: ``python -m asyncthreads <command>``.

Commands:

* ``demo``: a short, real-time tour of a Reactor and its ThreadPool
  (see :mod:`asyncthreads.demo`).
* ``bench``: the side-by-side benchmarks against asyncio, ``concurrent.futures``,
  ``sched`` (and Twisted and trio, if installed). They live in ``benchmarks/`` of a
  source checkout, not in the installed package: run it from the repository root.
  Its arguments go to ``python -m benchmarks`` (``--quick``, ``--only NAME``, ``--help``).
* ``docs``: build the manual (``docs/`` of a source checkout, run from the repository
  root) with Sphinx, warnings as errors, into ``docs/_build/html``, and print the path of
  its ``index.html``. Needs the ``docs`` extra: ``pip install -e '.[docs,test]'``.

Each command is a function taking the parsed arguments and returning the exit status,
registered in :func:`build_parser`; a command's module is imported only when it runs.
With no command, the help is printed and the exit status is 2.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
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


def _docs(args: argparse.Namespace) -> int:
    # Like the benchmarks, the manual's sources ship with the checkout, not the library.
    root = os.getcwd()
    source = os.path.join(root, "docs")
    if not os.path.isfile(os.path.join(source, "conf.py")):
        print(
            f"python -m asyncthreads docs: no docs/conf.py in the current directory ({root}). "
            "The manual's sources ship with the source, not the installed library: run this "
            "from the root of an asyncthreads checkout.",
            file=sys.stderr,
        )
        return 2
    if importlib.util.find_spec("sphinx") is None:
        print(
            "python -m asyncthreads docs: Sphinx is not installed; install the docs extra "
            "with: pip install -e '.[docs,test]'",
            file=sys.stderr,
        )
        return 2
    output = os.path.join(source, "_build", "html")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html"]
    status = subprocess.run([*command, source, output], check=False).returncode
    if status != 0:
        print(f"python -m asyncthreads docs: sphinx-build failed ({status})", file=sys.stderr)
        return status
    print(os.path.join(output, "index.html"))
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

    docs = commands.add_parser(
        "docs",
        help="build the manual into docs/_build/html (from a source checkout)",
        description="Build the manual with Sphinx (warnings are errors) into "
        "docs/_build/html and print the path of its index.html. Run it from the root of "
        "a checkout, with the docs extra installed: pip install -e '.[docs,test]'.",
    )
    docs.set_defaults(handler=_docs)

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
