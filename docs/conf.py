"""Sphinx configuration of the ffsk documentation site.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (the test suite runs
this build with warnings as errors; see tests/test_docs.py).
"""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("SCIPY_ARRAY_API", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ffsk  # noqa: E402

project = "ffsk"
author = "the ffsk developers"
copyright = "2026, the ffsk developers"
release = ffsk.__version__
version = ffsk.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**/*.zip"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
myst_heading_anchors = 3
html_theme = "alabaster"
html_static_path = []
templates_path = ["_templates"]

sphinx_gallery_conf = {
    "examples_dirs": ["../examples"],
    "gallery_dirs": ["auto_examples"],
    # Run every example (they use the small bundled data sets), not only plot_*.
    "filename_pattern": r"/",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
}
