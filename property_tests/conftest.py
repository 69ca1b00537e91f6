"""Hypothesis settings profiles for the property tests.

* ``ci``, the default: bounded and deterministic (``derandomize``, no example database), so
  ``pytest -n auto`` stays well under a minute on two cores and fails the same way twice.
* ``deep``: thousands of examples of longer programs, randomised, for a run by hand or a
  nightly job::

      HYPOTHESIS_PROFILE=deep pytest property_tests -n auto

A test that sets no settings of its own runs under the active profile; ``pytest
--hypothesis-profile=deep`` selects one too.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=50,
    stateful_step_count=30,
    deadline=None,
    derandomize=True,
    database=None,
)
settings.register_profile(
    "deep",
    max_examples=3000,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
