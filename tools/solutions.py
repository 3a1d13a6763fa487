"""The code a solution notebook defines, for tests and benchmarks that must use the lesson's own.

``definitions("01_mlp_gan_mnist")`` runs the imports, the ``parameters`` cell and every function
and class definition of ``solutions/01_mlp_gan_mnist.ipynb`` (nothing else: no training, no
data), and returns the names they define: the reference ``Generator``, ``train_step``, ...
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
KEPT = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)


def definitions(stem: str, solutions_dir: Path = ROOT / "solutions") -> dict[str, Any]:
    """The functions and classes (and parameters) a solution notebook defines."""
    path = Path(solutions_dir) / f"{stem.removesuffix('.ipynb')}.ipynb"
    nb = nbformat.read(path, as_version=4)
    namespace: dict[str, Any] = {"__name__": f"solutions.{path.stem}"}
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "colab-setup" in tags:
            continue
        tree = ast.parse(cell.source)
        tree.body = [node for node in tree.body if "parameters" in tags or isinstance(node, KEPT)]
        # the cell's own source as the file: inspect.getsource() works on what it defines
        filename = f"<{path.name} cell {index}>"
        _remember(filename, cell.source)
        exec(compile(tree, filename, "exec"), namespace)
    return namespace


def _remember(filename: str, source: str) -> None:
    import linecache

    lines = [line + "\n" for line in source.splitlines()]
    linecache.cache[filename] = (len(source), None, lines, filename)
