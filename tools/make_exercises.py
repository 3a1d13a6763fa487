"""Write the learners' notebooks (notebooks/) from the completed lessons (solutions/).

solutions/NN_<stem>.ipynb is the single source of truth. In its cells the learner's part sits
between two marker lines::

    ### BEGIN SOLUTION: use nn.Linear(hidden, 1) for the last layer   <- the hint is optional
    self.net = nn.Sequential(...)
    ### END SOLUTION

In the exercise notebook a code region becomes, at the marker's indentation::

    # TODO: use nn.Linear(hidden, 1) for the last layer
    raise NotImplementedError("Exercise: write your code here (see the TODO above).")

and a markdown region becomes ``*Your answer here.*``. Raw cells are copied unchanged, so a marker
in one is an error, as is any marker-like line that is not exactly a marker (``BEGIN-SOLUTION``).
Cells tagged ``solution-only`` are dropped, outputs and execution counts are cleared, cell
metadata is cut down to the tags (less ``nbval-check-output``: CI's expected text stays in
solutions/) and cell ids are numbered 0, 1, ... exactly like ``nbstripout`` does, so the files are
byte-for-byte deterministic (utf-8, LF line ends, on every OS) and ``nbstripout`` leaves them
alone. The Open-in-Colab badge is pointed from solutions/ to notebooks/.

Usage::

    python tools/make_exercises.py           # (re)write notebooks/
    python tools/make_exercises.py --check   # exit 1 and list files that differ (CI)

It works for whatever lessons exist: no lessons at all is fine too.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make `tools` importable from the repo root
    sys.path.insert(0, str(ROOT))

from tools import course_links  # noqa: E402

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?::[ \t]*(?P<hint>.*?))?[ \t]*$")
END = re.compile(r"^[ \t]*### END SOLUTION[ \t]*$")
# A `#` comment or heading that looks like a marker but is not one exactly (`BEGIN-SOLUTION`,
# `END\tSOLUTION`, `## begin_solution`, ...): a typo must be an error, or the solution leaks into
# the exercise. Prose without a `#` ("in the end, solutions ...") passes.
NEAR_MISS = re.compile(r"#.*?(BEGIN|END)[\W_]*SOLUTION", re.IGNORECASE)
COLAB_LINK = re.compile(
    r"(https://colab\.research\.google\.com/github/[^\s)\"'<>]+?/blob/[^/\s)\"'<>]+/)solutions/"
)

SOLUTION_ONLY_TAG = "solution-only"
# CI's business, not the learner's: the tag nbval compares by, whose reference text sits in the
# cell's `nbval` metadata (dropped with all other cell metadata) and may give an answer away.
CI_ONLY_TAGS = ("nbval-check-output",)
GENERIC_HINT = "your code here"
RAISE_LINE = 'raise NotImplementedError("Exercise: write your code here (see the TODO above).")'
ANSWER_PLACEHOLDER = "*Your answer here.*"

# Notebook metadata worth keeping (Colab reads `colab` and `accelerator`); all else is dropped.
KEEP_NOTEBOOK_METADATA = ("colab", "accelerator")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class MarkerError(ValueError):
    """A solution notebook has unbalanced or malformed ``### BEGIN/END SOLUTION`` lines."""


def _where(notebook: str, index: int, cell: nbformat.NotebookNode) -> str:
    first = next((line for line in cell.source.splitlines() if line.strip()), "")
    return f"{notebook}, cell {index} (id {cell.get('id', '?')!r}, starts {first[:50]!r})"


def replace_regions(source: str, cell_type: str, where: str) -> str:
    """Replace every marked region of one cell's source by its placeholder."""
    out: list[str] = []
    open_line = None  # line number of the BEGIN marker we are inside, if any
    for number, line in enumerate(source.split("\n"), start=1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if open_line is not None:
                raise MarkerError(
                    f"{where}: line {number} opens a second `### BEGIN SOLUTION` before the one "
                    f"on line {open_line} is closed; add `### END SOLUTION` (regions cannot nest)."
                )
            open_line = number
            indent, hint = begin["indent"], (begin["hint"] or "").strip()
            if cell_type == "code":
                out += [f"{indent}# TODO: {hint or GENERIC_HINT}", indent + RAISE_LINE]
            else:
                out += ([f"*Hint: {hint}*", ""] if hint else []) + [ANSWER_PLACEHOLDER]
        elif end:
            if open_line is None:
                raise MarkerError(
                    f"{where}: line {number} has `### END SOLUTION` without a `### BEGIN SOLUTION` "
                    "before it; add the BEGIN line or delete this one."
                )
            open_line = None
        elif NEAR_MISS.search(line):
            raise MarkerError(
                f"{where}: line {number} looks like a solution marker but is not one: {line.strip()!r}."
                " Write exactly `### BEGIN SOLUTION` (optionally `### BEGIN SOLUTION: hint`) or "
                "`### END SOLUTION` on a line of its own."
            )
        elif open_line is None:
            out.append(line)
    if open_line is not None:
        raise MarkerError(
            f"{where}: the `### BEGIN SOLUTION` on line {open_line} is never closed; "
            "add a `### END SOLUTION` line after the solution."
        )
    return "\n".join(out)


def refuse_markers(source: str, where: str) -> None:
    """Raw cells are copied as they are: any marker in one would ship its solution."""
    for number, line in enumerate(source.split("\n"), start=1):
        if NEAR_MISS.search(line):
            raise MarkerError(
                f"{where}: line {number} of this raw cell has a solution marker: {line.strip()!r}."
                " Raw cells are copied unchanged, so the solution would reach the learners; "
                "move the marked region into a code or markdown cell."
            )


def exercise_notebook(
    solution: nbformat.NotebookNode, name: str = "notebook", filename: str | None = None
) -> nbformat.NotebookNode:
    """The exercise version of a solution notebook (the input is not modified)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        key: copy.deepcopy(solution.metadata[key])
        for key in KEEP_NOTEBOOK_METADATA
        if key in solution.metadata
    }
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}

    for index, cell in enumerate(solution.cells):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if SOLUTION_ONLY_TAG in tags:
            continue
        source = cell.source
        if cell.cell_type in ("code", "markdown"):
            source = replace_regions(source, cell.cell_type, _where(name, index, cell))
        else:
            refuse_markers(source, _where(name, index, cell))
        if cell.cell_type == "markdown":
            if filename is None:  # not a course notebook: only point its links at notebooks/
                source = COLAB_LINK.sub(r"\1notebooks/", source)
            new = nbformat.v4.new_markdown_cell(source)
        elif cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(source)  # no outputs, execution_count None
        else:
            new = nbformat.v4.new_raw_cell(source)
        if "attachments" in cell and cell.cell_type != "code":
            new.attachments = copy.deepcopy(cell.attachments)
        tags = [tag for tag in tags if tag not in CI_ONLY_TAGS]
        new.metadata = {"tags": tags} if tags else {}
        new.id = str(len(nb.cells))  # what nbstripout writes: the cell's position
        nb.cells.append(new)
    if filename is not None:
        course_links.sync(nb, "notebooks", filename)
    return nb


def exercise_text(solution_path: Path) -> str:
    """The exact file content of the exercise notebook made from ``solution_path``."""
    solution = nbformat.read(solution_path, as_version=4)
    nb = exercise_notebook(solution, name=str(_display(solution_path)), filename=solution_path.name)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"  # nbformat.write adds the same newline


def exercise_bytes(solution_path: Path) -> bytes:
    """The file's exact bytes: utf-8 with LF line ends on every OS (compared byte for byte)."""
    return exercise_text(solution_path).encode("utf-8")


def _display(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def _notebooks(folder: Path) -> dict[str, Path]:
    return {p.name: p for p in sorted(folder.glob(NOTEBOOK_GLOB))} if folder.is_dir() else {}


def drifted(solutions_dir: Path, notebooks_dir: Path) -> list[str]:
    """One line per exercise notebook that differs from what ``solutions_dir`` generates."""
    solutions, exercises = _notebooks(solutions_dir), _notebooks(notebooks_dir)
    problems = []
    for name, path in solutions.items():
        stale = course_links.sync(nbformat.read(path, as_version=4), "solutions", name)
        if stale:
            problems.append(
                f"{_display(path)}: its {' and '.join(stale)} differ from what ganlib's COURSE_REPO "
                "and COURSE_REF give"
            )
        target = notebooks_dir / name
        if name not in exercises:
            problems.append(f"{_display(target)}: missing (generated from {_display(path)})")
        elif target.read_bytes() != exercise_bytes(path):  # CRLF or another encoding is drift
            problems.append(f"{_display(target)}: differs from what {_display(path)} generates")
    for name in exercises.keys() - solutions.keys():
        problems.append(
            f"{_display(notebooks_dir / name)}: has no solution notebook "
            f"{_display(solutions_dir / name)}"
        )
    return sorted(problems)


def sync_solution(path: Path) -> bool:
    """Rewrite a solution's Colab badge and setup cell from COURSE_REPO / COURSE_REF if stale."""
    nb = nbformat.read(path, as_version=4)
    if not course_links.sync(nb, "solutions", path.name):
        return False
    nbformat.write(nb, path)
    return True


def write_exercises(
    solutions_dir: Path, notebooks_dir: Path, only: str | None = None
) -> list[Path]:
    """(Re)write notebooks/ from solutions/ (after bringing the solutions' Colab links up to
    date); return the files that changed or were removed. ``only``: one lesson's file name."""
    solutions = {
        name: path for name, path in _notebooks(solutions_dir).items() if only in (None, name)
    }
    changed = [path for path in solutions.values() if sync_solution(path)]
    contents = {name: exercise_bytes(path) for name, path in solutions.items()}
    notebooks_dir.mkdir(parents=True, exist_ok=True)  # all built first: no half-done writes
    for name, content in contents.items():
        target = notebooks_dir / name
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
            changed.append(target)
    for name, stale in _notebooks(notebooks_dir).items() if only is None else []:
        if name not in contents:  # generated from a solution that no longer exists
            stale.unlink()
            changed.append(stale)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if notebooks/ differ from what solutions/ gives",
    )
    parser.add_argument("--only", metavar="NN", help="(re)write one lesson, e.g. --only 03")
    parser.add_argument("--solutions-dir", type=Path, default=ROOT / "solutions")
    parser.add_argument("--notebooks-dir", type=Path, default=ROOT / "notebooks")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = drifted(args.solutions_dir, args.notebooks_dir)
            for line in problems:
                print(line)
            if problems:
                print(
                    f"{len(problems)} exercise notebook(s) out of date: "
                    "run `python tools/make_exercises.py` and commit the result."
                )
                return 1
            count = len(_notebooks(args.solutions_dir))
            print(
                f"notebooks/ up to date ({count} lesson(s))."
                if count
                else f"No lessons in {_display(args.solutions_dir)} yet: nothing to check."
            )
            return 0
        only = None
        if args.only:
            matches = [
                n for n in _notebooks(args.solutions_dir) if n.startswith(args.only.zfill(2))
            ]
            if len(matches) != 1:
                print(
                    f"error: --only {args.only} matches {matches or 'no lesson'}", file=sys.stderr
                )
                return 2
            only = matches[0]
        changed = write_exercises(args.solutions_dir, args.notebooks_dir, only)
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for path in changed:
        print(f"{'wrote' if path.exists() else 'removed'} {_display(path)}")
    total = len(_notebooks(args.solutions_dir))
    print(f"{len(changed)} file(s) changed, {total} lesson(s) in {_display(args.solutions_dir)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
