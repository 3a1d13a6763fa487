"""tools/make_exercises.py: exercise notebooks are generated exactly, deterministically, stripped."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from tools import make_exercises as mx

ROOT = Path(__file__).resolve().parents[1]
NBSTRIPOUT = Path(sys.executable).parent / "nbstripout"


def notebook(*cells: nbformat.NotebookNode, **metadata) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells), metadata=metadata)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


def sources(nb: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in nb.cells]


# --- the transformation -------------------------------------------------------------------------


def test_code_region_becomes_todo_and_raise_at_its_indentation():
    solution = notebook(
        new_code_cell(
            "class D:\n"
            "    def forward(self, x):\n"
            "        ### BEGIN SOLUTION: end with nn.Linear(hidden, 1)\n"
            "        y = self.net(x)\n"
            "        return y\n"
            "        ### END SOLUTION\n"
            "\n"
            "### BEGIN SOLUTION\n"
            "z = 1\n"
            "### END SOLUTION\n"
            "print(z)"
        )
    )
    [cell] = mx.exercise_notebook(solution).cells
    assert cell.source == (
        "class D:\n"
        "    def forward(self, x):\n"
        "        # TODO: end with nn.Linear(hidden, 1)\n"
        f"        {mx.RAISE_LINE}\n"
        "\n"
        f"# TODO: {mx.GENERIC_HINT}\n"
        f"{mx.RAISE_LINE}\n"
        "print(z)"
    )
    ast.parse(cell.source)
    with pytest.raises(NotImplementedError):
        exec(compile(cell.source.replace("print(z)", ""), "<exercise>", "exec"), {})


def test_markdown_region_becomes_answer_placeholder():
    solution = notebook(
        new_markdown_cell("**Why?**\n\n### BEGIN SOLUTION\nBecause D wins.\n### END SOLUTION"),
        new_markdown_cell(
            "### BEGIN SOLUTION: think of log(0)\nIt saturates.\n### END SOLUTION\nEnd."
        ),
    )
    first, second = sources(mx.exercise_notebook(solution))
    assert first == "**Why?**\n\n*Your answer here.*"
    assert second == "*Hint: think of log(0)*\n\n*Your answer here.*\nEnd."


def test_prose_that_mentions_an_end_solution_is_not_a_marker():
    text = "In the end, solutions differ: begin solutions with a baseline."
    assert sources(mx.exercise_notebook(notebook(new_markdown_cell(text)))) == [text]


def test_solution_only_cells_outputs_and_metadata_are_stripped():
    code = new_code_cell(
        "print(1)",
        execution_count=7,
        outputs=[new_output("stream", name="stdout", text="1\n")],
        metadata={
            "scrolled": True,
            "ExecuteTime": {"start": "x"},
            "tags": ["parameters"],
            "papermill": {"duration": 1.0},
        },
    )
    solution = notebook(
        new_markdown_cell("# Title", metadata={"heading_collapsed": True}),
        new_code_cell("secret = 42", metadata={"tags": ["solution-only"]}),
        code,
        kernelspec={"name": "conda-env-gan-py", "display_name": "gan", "language": "python"},
        language_info={"name": "python", "version": "3.11.9"},
        widgets={"state": {}},
        papermill={"parameters": {}},
        colab={"provenance": []},
    )
    nb = mx.exercise_notebook(solution)
    assert sources(nb) == ["# Title", "print(1)"]
    assert [cell.id for cell in nb.cells] == ["0", "1"]
    assert nb.cells[0].metadata == {}
    assert nb.cells[1].metadata == {"tags": ["parameters"]}
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert nb.metadata == {
        "colab": {"provenance": []},
        "kernelspec": mx.KERNELSPEC,
        "language_info": {"name": "python"},
    }
    assert solution.cells[2].outputs, "the solution notebook itself must not be modified"


def test_colab_badge_points_to_notebooks():
    link = "https://colab.research.google.com/github/gan-course/gan-course/blob/main/{}/01_x.ipynb"
    solution = notebook(
        new_markdown_cell(f"[![Open In Colab](badge.svg)]({link.format('solutions')})")
    )
    [cell] = mx.exercise_notebook(solution).cells
    assert link.format("notebooks") in cell.source and "solutions" not in cell.source


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("x = 1\n### END SOLUTION", "line 2 has `### END SOLUTION` without"),
        ("### BEGIN SOLUTION\nx = 1", "line 1 is never closed"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "cannot nest"),
        ("## BEGIN SOLUTION\nx = 1\n## END SOLUTION", "looks like a solution marker"),
        ("x = 1  ### END SOLUTION", "looks like a solution marker"),
        ("### BEGIN-SOLUTION\nx = 1\n### END-SOLUTION", "line 1 looks like a solution marker"),
        ("### BEGIN\tSOLUTION\nx = 1\n### END\tSOLUTION", "line 1 looks like a solution marker"),
        ("### BEGIN SOLUTION\nx = 1\n### End.Solution", "line 3 looks like a solution marker"),
        ("# begin solution\nx = 1", "line 1 looks like a solution marker"),
    ],
)
def test_malformed_markers_name_the_notebook_and_cell(source, problem):
    solution = notebook(new_markdown_cell("# Title"), new_code_cell(source))
    with pytest.raises(mx.MarkerError) as info:
        mx.exercise_notebook(solution, name="solutions/07_demo.ipynb")
    message = str(info.value)
    assert "solutions/07_demo.ipynb, cell 1 (id 'cell-1'" in message
    assert problem in message


def test_markers_in_raw_cells_are_refused():
    """Raw cells are copied unchanged: a marked region in one would ship its solution."""
    plain = notebook(new_raw_cell("Just text.\n\tKept as it is."))
    assert sources(mx.exercise_notebook(plain)) == ["Just text.\n\tKept as it is."]
    solution = notebook(
        new_markdown_cell("# Title"),
        new_raw_cell("Answer:\n### BEGIN SOLUTION\nthe secret\n### END SOLUTION"),
    )
    with pytest.raises(mx.MarkerError) as info:
        mx.exercise_notebook(solution, name="solutions/07_demo.ipynb")
    message = str(info.value)
    assert "solutions/07_demo.ipynb, cell 1 (id 'cell-1'" in message
    assert "line 2 of this raw cell" in message and "code or markdown cell" in message


def test_fixture_exercise_leaks_no_solution(fixture_notebook):
    text = mx.exercise_text(fixture_notebook)
    assert "SOLUTION" not in text
    assert "total = sum(xs)" not in text and "only in the solution" not in text
    assert "So that the result does not grow" not in text
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        assert cell.get("outputs", []) == []


# --- the file format ----------------------------------------------------------------------------


def test_output_is_deterministic_and_ignores_solution_run_state(fixture_notebook, tmp_path):
    text = mx.exercise_text(fixture_notebook)
    assert text == mx.exercise_text(fixture_notebook)
    # The same solution with random cell ids, outputs and counts gives the very same bytes.
    nb = nbformat.read(fixture_notebook, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell.id = f"f3a9{i:04d}"
        if cell.cell_type == "code":
            cell.execution_count = i + 10
            cell.outputs = [new_output("stream", name="stdout", text="noise\n")]
        cell.metadata["ExecuteTime"] = {"end_time": "2024-01-01"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.12.1"}
    run = tmp_path / "00_fixture.ipynb"
    nbformat.write(nb, run)
    assert mx.exercise_text(run) == text


def test_nbstripout_leaves_generated_notebooks_alone(fixture_notebook, tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    shutil.copy(fixture_notebook, solutions)
    mx.write_exercises(solutions, notebooks)
    target = notebooks / fixture_notebook.name
    before = target.read_bytes()
    # `-t` prints what nbstripout makes of the file (what its git filter would store)
    shown = subprocess.run([NBSTRIPOUT, "-t", target], capture_output=True, check=True, cwd=ROOT)
    assert shown.stdout == before
    # ... and the check can fail: an execution count is something nbstripout strips
    nb = nbformat.read(target, as_version=4)
    nb.cells[1].execution_count = 3
    nbformat.write(nb, target)
    shown = subprocess.run([NBSTRIPOUT, "-t", target], capture_output=True, check=True, cwd=ROOT)
    assert shown.stdout == before != target.read_bytes()


# --- writing and --check ------------------------------------------------------------------------


def test_check_detects_drift(fixture_notebook, tmp_path, capsys):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    solution = shutil.copy(fixture_notebook, solutions)
    dirs = ["--solutions-dir", str(solutions), "--notebooks-dir", str(notebooks)]

    assert mx.main(["--check", *dirs]) == 1  # not generated yet
    assert "00_fixture.ipynb: missing" in capsys.readouterr().out
    assert mx.main(dirs) == 0
    assert mx.main(["--check", *dirs]) == 0
    assert mx.main(dirs) == 0 and "0 file(s) changed" in capsys.readouterr().out

    nb = nbformat.read(solution, as_version=4)
    nb.cells[2].source += "\nimport math"
    nbformat.write(nb, solution)
    assert mx.main(["--check", *dirs]) == 1
    assert "00_fixture.ipynb: differs from what" in capsys.readouterr().out

    mx.main(dirs)
    shutil.copy(solution, notebooks / "01_orphan.ipynb")
    assert mx.main(["--check", *dirs]) == 1
    assert "01_orphan.ipynb: has no solution notebook" in capsys.readouterr().out
    mx.main(dirs)  # writing removes the orphan
    assert not (notebooks / "01_orphan.ipynb").exists()
    assert mx.main(["--check", *dirs]) == 0


def test_check_compares_bytes_and_writing_restores_them(fixture_notebook, tmp_path, capsys):
    """A notebook converted to CRLF (say by git's autocrlf) is drift, and writing fixes it."""
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    shutil.copy(fixture_notebook, solutions)
    dirs = ["--solutions-dir", str(solutions), "--notebooks-dir", str(notebooks)]
    assert mx.main(dirs) == 0
    target = notebooks / fixture_notebook.name
    generated = target.read_bytes()
    assert b"\r" not in generated and generated == mx.exercise_text(fixture_notebook).encode()

    target.write_bytes(generated.replace(b"\n", b"\r\n"))
    capsys.readouterr()
    assert mx.main(["--check", *dirs]) == 1
    assert "00_fixture.ipynb: differs from what" in capsys.readouterr().out
    assert mx.main(dirs) == 0 and "wrote" in capsys.readouterr().out
    assert target.read_bytes() == generated
    assert mx.main(["--check", *dirs]) == 0


def test_bad_markers_fail_the_command_and_write_nothing(fixture_notebook, tmp_path, capsys):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    nb = nbformat.read(fixture_notebook, as_version=4)
    nb.cells[5].source = nb.cells[5].source.replace("    ### END SOLUTION", "")
    nbformat.write(nb, solutions / "03_broken.ipynb")
    assert mx.main(["--solutions-dir", str(solutions), "--notebooks-dir", str(notebooks)]) == 2
    err = capsys.readouterr().err
    assert "03_broken.ipynb, cell 5" in err and "never closed" in err
    assert not list(notebooks.glob("*.ipynb"))


def test_check_passes_on_the_real_repository():
    """notebooks/ matches solutions/ (also when no lesson is written yet)."""
    done = subprocess.run(
        [sys.executable, "tools/make_exercises.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the course's address in one place ------------------------------------------------------------


def test_badges_and_setup_cells_come_from_course_repo_and_ref(tmp_path, capsys):
    import ganlib
    from tools import course_links

    for folder in ("solutions", "notebooks"):
        for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            text = "\n".join(cell.source for cell in nb.cells)
            assert course_links.colab_url(folder, path.name) in text, path
            assert f"{ganlib.COURSE_REPO}@{ganlib.COURSE_REF}" in text, path
            setup = [c for c in nb.cells if "colab-setup" in c.metadata.get("tags", [])]
            assert [c.source for c in setup] == [course_links.setup_cell_source()], path
            assert "colab.setup()" in setup[0].source

    # a stale setup cell or badge in a solution is drift, and `make exercises` rewrites it
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    shutil.copytree(ROOT / "solutions", solutions)
    shutil.copytree(ROOT / "notebooks", notebooks)
    path = solutions / "01_mlp_gan_mnist.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace(ganlib.COURSE_REF, "main")
    nb.cells[0].source = nb.cells[0].source.replace(ganlib.COURSE_REF, "v0.0.1")
    nbformat.write(nb, path)
    args = ["--solutions-dir", str(solutions), "--notebooks-dir", str(notebooks)]
    assert mx.main(["--check", *args]) == 1
    assert (
        "Colab badge and setup cell differ from what ganlib's COURSE_REPO"
        in capsys.readouterr().out
    )
    assert mx.main(["--only", "1", *args]) == 0
    assert mx.main(["--check", *args]) == 0


def test_only_rewrites_one_lesson(tmp_path, capsys):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    shutil.copytree(ROOT / "solutions", solutions)
    notebooks.mkdir()
    args = ["--solutions-dir", str(solutions), "--notebooks-dir", str(notebooks)]
    assert mx.main(["--only", "03", *args]) == 0
    assert [p.name for p in notebooks.iterdir()] == ["03_dcgan_svhn.ipynb"]
    assert mx.main(["--only", "9", *args]) == 2
    assert "--only 9 matches no lesson" in capsys.readouterr().err
