"""The documentation site builds with warnings as errors, gallery included."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

for module in ("sphinx", "numpydoc", "sphinx_gallery", "myst_parser", "matplotlib"):
    pytest.importorskip(module)

ROOT = Path(__file__).resolve().parent.parent
GALLERY_PICTURES = {"sphx_glr_goodness_display_001.png", "sphx_glr_goodness_display_002.png"}


def test_docs_build_with_warnings_as_errors(tmp_path):
    output = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert result.returncode == 0, (result.stdout[-4000:], result.stderr[-4000:])
    pages = {path.name for path in output.rglob("*.html")}
    assert {"index.html", "user_guide.html", "api.html", "benchmarks.html"} <= pages
    assert "ffsk.ForwardForwardClassifier.html" in pages
    # The gallery ran its examples and kept their pictures.
    assert GALLERY_PICTURES <= {path.name for path in (output / "_images").iterdir()}
    api_page = (output / "generated" / "ffsk.ForwardForwardClassifier.html").read_text()
    assert "hidden_layer_sizes" in api_page and "partial_fit" in api_page
