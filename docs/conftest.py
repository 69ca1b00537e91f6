"""Every Python example of the manual runs as a test (parsed and run with sybil).

Each ```` ```python ```` block of a Markdown page runs, in order, in one namespace per
page, so a page can build on its earlier examples as a reader does. A block that is not
meant to run (an excerpt, a shell session) uses another language tag; an
``invisible-code-block`` comment runs code the reader does not see (calling a test the
page defines).

A page is one test item, ``docs/<page>.md::examples``, rather than one item per example:
its examples depend on each other, and pytest-xdist would otherwise spread them over
workers. A failure names the line of the example that failed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.myst import PythonCodeBlockParser, SkipParser

PAGES = Sybil(parsers=[PythonCodeBlockParser(), SkipParser()])


class ExampleFailed(AssertionError):
    """An example of a page failed: where, and with what."""


class PageExamples(pytest.Item):
    """Runs every example of one page, in order, in the page's namespace."""

    def runtest(self) -> None:
        document = PAGES.parse(self.path)
        for example in document:
            try:
                example.evaluate()
            except Exception as error:
                where = f"{self.path.name}, the example at line {example.line}"
                raise ExampleFailed(f"{where} failed: {error!r}") from error

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name}: examples"


class Page(pytest.File):
    def collect(self) -> list[pytest.Item]:
        if not any(True for _ in PAGES.parse(self.path)):
            return []  # a page with no runnable example has nothing to test
        return [PageExamples.from_parent(self, name="examples")]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Page | None:
    if file_path.suffix == ".md" and "_build" not in file_path.parts:
        page: Page = Page.from_parent(parent, path=file_path)
        return page
    return None
