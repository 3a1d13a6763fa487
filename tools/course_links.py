"""The course's address in one place: ``ganlib.COURSE_REPO`` and ``ganlib.COURSE_REF``.

Every lesson's Open-in-Colab badge and its first code cell (which installs the course library on
Colab, pinned to ``COURSE_REF``, and calls ``colab.setup()``) are generated from those two names
by ``tools/make_exercises.py``: in solutions/ (where ``make exercises`` rewrites them) and in
notebooks/. A fork changes the two names in ``ganlib/__init__.py`` and runs ``make exercises``.
"""

from __future__ import annotations

import re

import nbformat

from ganlib import COURSE_REF, COURSE_REPO

SETUP_TAG = "colab-setup"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
#: Any Open-in-Colab link to a notebook on GitHub, whatever its repository, ref and folder.
COLAB_URL = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"'<>]+\.ipynb")


def colab_url(folder: str, filename: str) -> str:
    """Where Colab opens ``<folder>/<filename>`` of this course's release ``COURSE_REF``."""
    return f"https://colab.research.google.com/github/{COURSE_REPO}/blob/{COURSE_REF}/{folder}/{filename}"


def badge(folder: str, filename: str) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(folder, filename)})"


def setup_cell_source() -> str:
    """The first code cell of every lesson: on Colab, install this release and set up Drive."""
    return (
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:  # on Colab: install the course library, this release\n'
        f'    %pip install -q "ganlib[offline] @ git+https://github.com/{COURSE_REPO}@{COURSE_REF}"\n'
        "from ganlib import colab\n"
        "\n"
        "colab.setup()  # on Colab: runs and data kept on Google Drive, GPU checked; elsewhere nothing"
    )


def sync(nb: nbformat.NotebookNode, folder: str, filename: str) -> list[str]:
    """Point the notebook's Colab links at ``folder/filename`` and rewrite its setup cell, in
    place; return what was changed (empty: it was up to date)."""
    changed = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and COLAB_URL.search(cell.source):
            new = COLAB_URL.sub(colab_url(folder, filename), cell.source)
            if new != cell.source:
                cell.source, changed = new, [*changed, "Colab badge"]
        if cell.cell_type == "code" and SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            if cell.source != setup_cell_source():
                cell.source, changed = setup_cell_source(), [*changed, "setup cell"]
    return changed
