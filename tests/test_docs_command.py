"""``python -m asyncthreads docs`` builds the manual from a checkout, or says why not.

The build itself runs in CI (``.ci/run`` builds the site the browser tests open); these
tests check what the command does where it cannot build.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from asyncthreads.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(60)
def test_outside_a_checkout_it_says_where_to_run_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asyncthreads", "docs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=50,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert done.returncode == 2
    assert "no docs/conf.py in the current directory" in done.stderr
    assert "root of an asyncthreads checkout" in done.stderr
    assert done.stdout == ""


def test_without_sphinx_it_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "sphinx" else real_find_spec(name, *args),
    )

    assert main(["docs"]) == 2
    assert "pip install -e '.[docs,test]'" in capsys.readouterr().err


def test_the_help_lists_the_docs_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "build the manual into docs/_build/html" in capsys.readouterr().out
