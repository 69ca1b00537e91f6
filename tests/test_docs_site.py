"""The built manual renders in a real browser, with its navigation, and covers the API.

The browser tests open pages of ``docs/_build/html`` (built by ``python -m asyncthreads
docs``; ``.ci/run`` builds it before the tests) in headless Chromium and read the DOM it
rendered. They skip, saying why, when there is no Chromium or no built site.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import asyncthreads
import asyncthreads.testing

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "docs" / "_build" / "html"
REFERENCE = [ROOT / "docs" / "reference" / "index.rst", ROOT / "docs" / "reference" / "testing.rst"]

# The sidebar lists every part of the manual on every page.
NAVIGATION = [
    "tutorial.html",
    "guides/production.html",
    "guides/timer-cookbook.html",
    "guides/races.html",
    "reference/index.html",
    "reference/testing.html",
    "internals/seam.html",
    "performance.html",
    "migrating.html",
    "changelog.html",
]


def browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on PATH (apt-get install chromium): the pages were not opened")


def built_page(page: str) -> Path:
    path = SITE / page
    if not path.is_file():
        pytest.skip(f"the manual is not built ({path} is missing): run python -m asyncthreads docs")
    return path


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def rendered_dom(page: str, tmp_path: Path) -> str:
    path = built_page(page)
    done = chromium(tmp_path, "--dump-dom", path.as_uri())
    assert done.returncode == 0, done.stderr
    return done.stdout


def sidebar_links(dom: str, page: str) -> set[str]:
    """The pages the rendered sidebar of ``page`` links to, relative to the site's root."""
    sidebar = re.search(r'<div class="sidebar-tree">(.*?)</div>', dom, re.DOTALL)
    assert sidebar, "the page has no sidebar navigation"
    folder = posixpath.dirname(page)
    return {
        posixpath.normpath(posixpath.join(folder, href.split("#")[0]))
        for href in re.findall(r'href="([^"]+)"', sidebar.group(1))
    }


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("page", "heading"),
    [
        ("index.html", "asyncthreads"),
        ("reference/index.html", "asyncthreads"),
        ("guides/timer-cookbook.html", "Testing timer logic: a cookbook"),
    ],
)
def test_a_page_renders_its_heading_and_the_whole_navigation(
    page: str, heading: str, tmp_path: Path
) -> None:
    dom = rendered_dom(page, tmp_path)

    assert re.search(rf"<h1>(<code[^>]*><span[^>]*>)?{re.escape(heading)}", dom), dom[:2000]
    linked = sidebar_links(dom, page)
    missing = {other for other in NAVIGATION if other != page} - linked
    assert not missing, f"the sidebar of {page} does not link to {sorted(missing)}"


@pytest.mark.timeout(120)
def test_the_api_reference_renders_every_public_class(tmp_path: Path) -> None:
    dom = rendered_dom("reference/index.html", tmp_path)

    for name in ("Reactor", "ThreadPool", "Result", "QueueFull", "DeadlockError"):
        assert f'id="asyncthreads.{name}"' in dom, name
    assert 'id="asyncthreads.Reactor.call_later"' in dom


@pytest.mark.timeout(120)
def test_a_screenshot_of_a_guide_is_a_full_page(tmp_path: Path) -> None:
    path = built_page("guides/production.html")
    shot = tmp_path / "page.png"

    done = chromium(tmp_path, "--window-size=1280,900", f"--screenshot={shot}", path.as_uri())

    assert done.returncode == 0, done.stderr
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1280, 900)
    assert len(data) > 20_000  # text and navigation, not a blank page (a few kB)


def documented_names() -> set[str]:
    text = "\n".join(path.read_text(encoding="utf-8") for path in REFERENCE)
    found = set(re.findall(r"^\.\. (?:auto)?\w+:: (\w+)", text, re.MULTILINE))
    found |= set(re.findall(r"^   \.\. method:: (\w+)", text, re.MULTILINE))
    return found


@pytest.mark.parametrize(
    "module", [asyncthreads, asyncthreads.testing], ids=["asyncthreads", "asyncthreads.testing"]
)
def test_the_api_reference_documents_every_public_name(module: object) -> None:
    public = set(getattr(module, "__all__", ()))
    if module is asyncthreads.testing:
        public.add("ReactorMachine")  # imported on first use, so not in __all__
    missing = public - documented_names()
    assert not missing, f"not in docs/reference/: {sorted(missing)}"
