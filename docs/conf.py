"""Sphinx configuration for the asyncthreads manual.

Build it with ``python -m asyncthreads docs`` (or ``sphinx-build -W --keep-going -b html
docs docs/_build/html``). Pages are Markdown (MyST); the API reference is generated from
the docstrings with autodoc.
"""

from __future__ import annotations

import asyncthreads

project = "asyncthreads"
author = "the asyncthreads authors"
copyright = "the asyncthreads authors"
release = asyncthreads.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "conftest.py", "benchmarks"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# The docstrings say what a caller may rely on; signatures come from the code, types from
# the annotations, shown in the description rather than in a long signature line.
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}
autodoc_preserve_defaults = True

html_theme = "furo"
html_title = f"asyncthreads {release}"
html_static_path: list[str] = []
html_theme_options = {"navigation_with_keys": True}
