"""Print the lowest versions the project declares for some of its extras, as pins.

    python .ci/lowest_requirements.py test > lowest.txt
    pip install -r lowest.txt

Every requirement of the named extras must carry a lower bound (``name>=X``, optionally
with an upper bound or environment marker); it becomes ``name==X``, so that the suite run
against these pins tests the bounds pyproject.toml declares. A requirement without a
lower bound is an error: its lowest version is whatever the registry has, so it could not
be tested.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"

# name[extras] (version specifiers) ; marker
REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?"
    r"\s*(?P<specifiers>[^;]*?)\s*(?P<marker>;.*)?$"
)
LOWER_BOUND = re.compile(r"^>=\s*(?P<version>[^\s,]+)$")


def lowest_pins(pyproject: Path, extras: list[str]) -> list[str]:
    """``name==lowest`` for every requirement of ``extras``, in the order declared."""
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional: dict[str, list[str]] = declared.get("optional-dependencies", {})
    pins: list[str] = []
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"{pyproject}: no extra named {extra!r} (have: {', '.join(optional)})")
        for requirement in optional[extra]:
            pins.append(lowest_pin(requirement))
    return list(dict.fromkeys(pins))


def lowest_pin(requirement: str) -> str:
    """``"hypothesis>=6.100,<7"`` -> ``"hypothesis==6.100"``; a marker is kept."""
    match = REQUIREMENT.match(requirement)
    if match is None:
        raise SystemExit(f"cannot read the requirement {requirement!r}")
    lower = [
        found["version"]
        for specifier in match["specifiers"].split(",")
        if (found := LOWER_BOUND.match(specifier.strip()))
    ]
    if len(lower) != 1:
        raise SystemExit(
            f"{requirement!r} declares no single lower bound (name>=X): "
            "its lowest version cannot be tested"
        )
    return f"{match['name']}{match['extras'] or ''}=={lower[0]}{match['marker'] or ''}"


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    print("\n".join(lowest_pins(PYPROJECT, argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
