"""``.ci/lowest_requirements.py`` turns the declared lower bounds into pins, so CI can test
them; a requirement without a lower bound cannot be tested and is refused."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lowest_requirements", ROOT / ".ci" / "lowest_requirements.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


script = load_script()


def test_a_lower_bound_becomes_a_pin() -> None:
    assert script.lowest_pin("hypothesis>=6.139") == "hypothesis==6.139"


def test_an_upper_bound_is_dropped_and_extras_and_markers_are_kept() -> None:
    pin = script.lowest_pin("pytest[testing] >= 8, <10 ; python_version < '3.12'")
    assert pin == "pytest[testing]==8; python_version < '3.12'"


@pytest.mark.parametrize("requirement", ["twisted", "trio<1", "ruff==0.6"])
def test_a_requirement_without_a_lower_bound_is_refused(requirement: str) -> None:
    with pytest.raises(SystemExit, match="no single lower bound"):
        script.lowest_pin(requirement)


def test_every_test_dependency_is_pinned_at_its_declared_bound(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n[project.optional-dependencies]\n'
        'test = ["pytest>=8", "sybil>=9"]\ndev = ["ruff>=0.6", "pytest>=8"]\n'
    )
    assert script.lowest_pins(pyproject, ["test", "dev"]) == [
        "pytest==8",
        "sybil==9",
        "ruff==0.6",
    ]


def test_an_unknown_extra_is_refused() -> None:
    with pytest.raises(SystemExit, match="no extra named 'nope'"):
        script.lowest_pins(ROOT / "pyproject.toml", ["nope"])


def test_the_project_declares_a_testable_lower_bound_for_each_test_dependency() -> None:
    pins = script.lowest_pins(ROOT / "pyproject.toml", ["test"])
    assert pins
    assert all("==" in pin for pin in pins)
