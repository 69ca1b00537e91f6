"""The stress suite's pytest configuration: the ``awaiting_fix`` marker.

A test marked ``awaiting_fix("issue 11 item N")`` finds a bug the library still has.
It is not an xfail: it fails while the bug is there. ``.ci/run`` deselects these
(``-m "not awaiting_fix"``) until the fix lands; the fix removes the marker.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "awaiting_fix(item): finds a bug not yet fixed (deselected by .ci/run until then)",
    )
