"""The lesson notebooks run, produce what they promise, and their exercise versions are sound.

Every existing ``solutions/NN_<stem>.ipynb`` is executed ONCE, with the quick parameters of
tools/lessons.py, ``DATA_SOURCE="offline"``, ``DEVICE`` cpu (cuda if present), kernel ``python3``
and ``OUT_DIR`` under ``tmp_path``. Which tool executes it is the ``validator`` column of the table
in tools/lessons.py:

- papermill (01, 03, 04, 05): executes the notebook; the test then checks the executed notebook
  (no error outputs, every cell that calls ``check.<name>(...)`` printed a ``✔`` line);
- nbval (00, 02): ``pytest --nbval-lax --nbval-current-env`` on a quick-parameterised copy made
  with papermill's ``parameterize_notebook`` (papermill does not execute it). Committed notebooks
  carry no outputs, so a cell tagged ``nbval-check-output`` keeps the text it must print in its
  metadata, ``"nbval": {"expected": "..."}``; the copy turns that text into the cell's stored
  output (one stdout stream, with an execution count) and nbval compares the two.

Both then check OUT_DIR: ``metrics.json`` with finite numbers and the PNG figures. Lessons not
written yet are SKIPPED with a reason. Exercise notebooks (notebooks/) are checked for drift and
for valid Python in every cell. The tooling itself is tested on tests/fixtures/00_fixture.ipynb.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest

from tools import make_exercises, run_course
from tools.lessons import LESSONS, Lesson, find, run_parameters, unlisted

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, NOTEBOOKS = ROOT / "solutions", ROOT / "notebooks"
CHECK_CALL = re.compile(r"^\s*check\.\w+\(", re.MULTILINE)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NBVAL_TAG = "nbval-check-output"
by_stem = pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.stem for lesson in LESSONS])


def solution_of(lesson: Lesson) -> Path:
    """The lesson's solution notebook: every lesson of the manifest must have one."""
    path = lesson.solution(SOLUTIONS)
    assert path.exists(), f"solutions/{lesson.filename} is missing (listed in tools/lessons.py)"
    return path


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# --- what a run must leave behind ---------------------------------------------------------------


def python_source(source: str) -> str:
    """A cell as plain Python: IPython turns magics and shell lines into function calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def parameter_defaults(path: Path) -> dict:
    """The literal values the ``parameters`` cell of a notebook assigns."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }


def assert_valid_python(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            try:
                ast.parse(python_source(cell.source))
            except SyntaxError as err:
                pytest.fail(f"{path.name}, cell {index} is not valid Python: {err}")


def assert_executed_cleanly(nb: nbformat.NotebookNode, name: str) -> None:
    """No error outputs; every cell that calls a checker printed its ✔ line."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        assert not errors, f"{name}, cell {index}: {errors[0]['ename']}: {errors[0]['evalue']}"
        if CHECK_CALL.search(cell.source):
            text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
            assert "\u2714" in text, f"{name}, cell {index} calls a checker but printed no ✔ line"


def assert_out_dir(out_dir: Path, figures: tuple[str, ...]) -> dict:
    """metrics.json holds finite numbers and each figure is a PNG; returns the metrics."""
    path = out_dir / "metrics.json"
    assert path.exists(), (
        f"no {path.name} in OUT_DIR: call ganlib.report.save_metrics(OUT_DIR, ...)"
    )
    metrics = json.loads(path.read_text())
    numbers = {
        k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    assert numbers, f"{path} has no numbers: {metrics}"
    bad = [k for k, v in metrics.items() if v is None or (k in numbers and not math.isfinite(v))]
    assert not bad, f"{path}: not finite (NaN or inf, saved as null): {', '.join(bad)}"
    for name in figures:
        figure = out_dir / name
        assert figure.exists(), f"OUT_DIR has no {name}: save it with ganlib.viz.save_figure"
        assert figure.read_bytes()[:8] == PNG_MAGIC, f"{figure} is not a PNG file"
    return metrics


def with_expected_outputs(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Give each cell tagged nbval-check-output its ``metadata.nbval.expected`` as stored output.

    Committed notebooks carry no outputs (nbstripout), so the reference text lives in the cell's
    metadata: ``{"tags": ["nbval-check-output"], "nbval": {"expected": "what it prints\\n"}}``.
    It becomes one stdout stream, the form nbval coalesces the cell's own prints into. Changes
    ``nb`` in place and returns it.
    """
    for index, cell in enumerate(nb.cells):
        tagged = NBVAL_TAG in cell.get("metadata", {}).get("tags", [])
        expected = cell.get("metadata", {}).get("nbval", {}).get("expected")
        where = f"{name}, cell {index} (id {cell.get('id', '?')!r})"
        if not tagged:
            if expected is not None:
                pytest.fail(
                    f"{where} has metadata.nbval.expected but no `{NBVAL_TAG}` tag, so nothing "
                    "would compare it: add the tag or delete the metadata"
                )
            continue
        if cell.cell_type != "code":
            pytest.fail(f"{where} is a {cell.cell_type} cell: only code cells can be `{NBVAL_TAG}`")
        if not isinstance(expected, str):
            pytest.fail(
                f"{where} is tagged `{NBVAL_TAG}` but metadata.nbval.expected holds no text to "
                "compare with: run the cell and store what it prints there as a string, e.g. "
                '"nbval": {"expected": "D*(3.0) = 0.8808\\n"}, or remove the tag '
                "(docs/DESIGN.md, notebook conventions)"
            )
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=expected)]
    return nb


def nbval_copy(path: Path, parameters: dict, folder: Path) -> Path:
    """A quick-parameterised copy for nbval: tagged cells get their expected output back."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = with_expected_outputs(load_notebook_node(str(path)), path.name)  # cell numbers as in path
    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    for count, cell in enumerate((c for c in nb.cells if c.cell_type == "code"), start=1):
        if cell.outputs and cell.execution_count is None:  # else nbval calls the cell "unrun"
            cell.execution_count = count  # and compares nothing
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / path.name)
    return folder / path.name


def nbval(paths: list[Path], cwd: Path) -> subprocess.CompletedProcess:
    """Run nbval on the notebooks in a fresh pytest process (outside this repo's pytest config)."""
    env = {**os.environ, "TQDM_DISABLE": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rf",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(cwd),
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-cell-timeout",
            "600",
            *map(str, paths),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def validate(lesson: Lesson, path: Path, tmp_path: Path) -> dict:
    """Execute one solution notebook the way CI does (see the module docstring); its metrics."""
    out_dir = tmp_path / "out"
    parameters, _ = run_parameters(
        lesson, path, OUT_DIR=str(out_dir), DATA_SOURCE="offline", DEVICE=device()
    )
    if lesson.validator == "nbval":
        done = nbval([nbval_copy(path, parameters, tmp_path / "nbval")], cwd=tmp_path)
        assert done.returncode == 0, f"nbval failed on {path.name}:\n{done.stdout[-4000:]}"
    else:
        nb = run_course.execute(path, out_dir, parameters)
        assert_executed_cleanly(nb, path.name)
    return assert_out_dir(out_dir, lesson.figures)


# --- the lessons --------------------------------------------------------------------------------


@pytest.mark.notebook
@by_stem
def test_solution_notebook_runs(lesson, tmp_path):
    validate(lesson, solution_of(lesson), tmp_path)


@by_stem
def test_exercise_notebook_is_current_and_valid_python(lesson):
    solution = solution_of(lesson)
    exercise = lesson.exercise(NOTEBOOKS)
    assert exercise.exists(), f"{exercise} missing: run `python tools/make_exercises.py`"
    assert exercise.read_text(encoding="utf-8") == make_exercises.exercise_text(solution), (
        f"{exercise} is out of date: run `python tools/make_exercises.py`"
    )
    assert_valid_python(solution)
    assert_valid_python(exercise)


@by_stem
def test_notebook_follows_the_conventions(lesson):
    """Quick parameters exist in the parameters cell; nbval-compared cells have expected text."""
    path = solution_of(lesson)
    _, missing = run_parameters(lesson, path, OUT_DIR="x", DATA_SOURCE="offline", DEVICE="cpu")
    assert not missing, (
        f"{path.name}'s parameters cell lacks {', '.join(missing)}: rename them in tools/lessons.py "
        "(quick parameters) or add them to the notebook's cell tagged `parameters`"
    )
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec must be python3"
    with_expected_outputs(nb, path.name)  # every tagged cell has its expected text


def test_every_lesson_notebook_is_in_the_manifest_and_back():
    strays = unlisted(SOLUTIONS) + unlisted(NOTEBOOKS)
    assert not strays, f"not listed in tools/lessons.py: {', '.join(map(str, strays))}"
    missing = [
        f"{folder.name}/{lesson.filename}"
        for lesson in LESSONS
        for folder in (SOLUTIONS, NOTEBOOKS)
        if not (folder / lesson.filename).exists()
    ]
    assert not missing, f"listed in tools/lessons.py but missing: {', '.join(missing)}"


def test_manifest_matches_the_design():
    design = (ROOT / "docs" / "DESIGN.md").read_text()
    stems = re.findall(r"^\| `(\d\d_\w+)` \|", design, re.MULTILINE)
    assert [lesson.stem for lesson in LESSONS] == stems
    assert {lesson.validator for lesson in LESSONS} == {"papermill", "nbval"}


# --- the tooling, on the fixture notebook -------------------------------------------------------


@pytest.mark.notebook
def test_run_course_runs_lessons_and_reports(fixture_notebook, tmp_path):
    """Two lessons (one passes, one fails on purpose) and a stray notebook, via the CLI."""
    solutions, runs = tmp_path / "solutions", tmp_path / "runs"
    solutions.mkdir()
    shutil.copy(fixture_notebook, solutions / "00_gan_game.ipynb")
    failing = nbformat.read(fixture_notebook, as_version=4)
    failing.cells[3].source = failing.cells[3].source.replace("FAIL = False", "FAIL = True")
    nbformat.write(failing, solutions / "01_mlp_gan_mnist.ipynb")
    shutil.copy(fixture_notebook, solutions / "07_stray.ipynb")

    done = subprocess.run(
        [sys.executable, "tools/run_course.py", "--solutions-dir", solutions, "--runs-dir", runs],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "07_stray.ipynb is not listed in tools/lessons.py" in done.stdout
    assert re.search(r"^00_gan_game\s+ok\s+[\d.]+\s+d_loss=", done.stdout, re.MULTILINE)
    assert re.search(r"^01_mlp_gan_mnist\s+failed\s", done.stdout, re.MULTILINE)

    ok, failed = json.loads((runs / "summary.json").read_text())
    assert (ok["lesson"], ok["status"], failed["status"]) == ("00_gan_game", "ok", "failed")
    assert "RuntimeError: failing on purpose" in failed["error"]
    assert failed["seconds"] > 0 and ok["seconds"] > 0
    # the quick parameters reached the notebook, offline, in this venv's kernel, tqdm quiet
    metrics = assert_out_dir(runs / "00_gan_game", ("samples.png", "losses.png"))
    assert ok["metrics"] == metrics
    default_steps = parameter_defaults(fixture_notebook)["STEPS"]
    assert metrics["steps"] == LESSONS[0].quick["STEPS"] != default_steps, (
        "quick STEPS not injected"
    )
    assert metrics["data_source"] == "offline"
    assert Path(metrics["python_prefix"]).resolve() == Path(sys.prefix).resolve()
    assert metrics["tqdm_disable"] == "1"
    if (os.cpu_count() or 1) >= 2:  # two lessons at a time, each kernel with half the threads
        assert "2 lessons, 2 at a time" in done.stdout
        if "OMP_NUM_THREADS" not in os.environ:
            assert metrics["omp_num_threads"] == str((os.cpu_count() or 1) // 2)
    executed = nbformat.read(runs / ok["notebook"], as_version=4)
    assert_executed_cleanly(executed, ok["notebook"])
    assert not (runs / "01_mlp_gan_mnist" / "metrics.json").exists()

    index = (runs / "index.html").read_text()
    for figure in ok["figures"]:
        assert f'src="{figure}"' in index and (runs / figure).exists()
    assert "failing on purpose" in index
    # the summary table shows each lesson's final picture as a thumbnail
    assert '<img class="thumb" src="00_gan_game/samples.png"' in index


@pytest.mark.notebook
def test_nbval_path_compares_tagged_outputs(fixture_notebook, tmp_path):
    """One nbval run: the quick copy passes; a copy whose reference output is wrong fails."""
    lesson = Lesson("00_fixture", "fixture", "synthetic", {"STEPS": 5}, validator="nbval")
    out = tmp_path / "out"
    parameters, _ = run_parameters(
        lesson, fixture_notebook, OUT_DIR=str(out), DATA_SOURCE="offline", DEVICE=device()
    )
    good = nbval_copy(fixture_notebook, parameters, tmp_path / "good")
    nb = nbformat.read(fixture_notebook, as_version=4)
    assert nb.cells[9].metadata.nbval.expected == "3.0\n" and not nb.cells[9].outputs
    nb.cells[9].metadata.nbval.expected = "4.0\n"  # the cell prints 3.0
    source = tmp_path / "src" / fixture_notebook.name
    source.parent.mkdir()
    nbformat.write(nb, source)
    wrong = nbval_copy(source, {**parameters, "OUT_DIR": str(tmp_path / "o2")}, tmp_path / "wrong")

    done = nbval([good, wrong], cwd=tmp_path)
    failures = re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE)
    assert failures and all(f.startswith("wrong/") for f in failures), done.stdout[-3000:]
    assert "Cell outputs differ" in done.stdout
    metrics = assert_out_dir(out, lesson.figures)
    assert metrics["steps"] == 5 and metrics["device"] == device()


def test_expected_text_becomes_the_output_nbval_compares(fixture_notebook, tmp_path):
    """metadata.nbval.expected turns into a stored stdout; a tag without it fails clearly."""
    copy = nbformat.read(nbval_copy(fixture_notebook, {"STEPS": 5}, tmp_path), as_version=4)
    with_outputs = [i for i, cell in enumerate(copy.cells) if cell.get("outputs")]
    assert with_outputs == [10]  # the fixture's cell 9, one further down after papermill's cell
    [output] = copy.cells[10].outputs
    assert (output.output_type, output.name, output.text) == ("stream", "stdout", "3.0\n")
    assert copy.cells[10].execution_count is not None, "nbval skips cells without a count"

    def demo(**metadata: object) -> nbformat.NotebookNode:
        return nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell("x = 1", metadata=metadata)]
        )

    untouched = with_expected_outputs(demo(tags=["parameters"]), "demo.ipynb")
    assert untouched.cells[0].outputs == []
    for metadata, problem in [
        ({"tags": [NBVAL_TAG]}, "tagged `nbval-check-output` but metadata.nbval.expected holds no"),
        ({"tags": [NBVAL_TAG], "nbval": {"expected": ["3.0\n"]}}, "as a string"),
        ({"nbval": {"expected": "3.0\n"}}, "but no `nbval-check-output` tag"),
    ]:
        with pytest.raises(pytest.fail.Exception, match=re.escape(problem)) as info:
            with_expected_outputs(demo(**metadata), "demo.ipynb")
        assert "demo.ipynb, cell 0" in str(info.value)
    markdown = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# x", metadata={"tags": [NBVAL_TAG]})]
    )
    with pytest.raises(pytest.fail.Exception, match="only code cells"):
        with_expected_outputs(markdown, "demo.ipynb")


def test_exercise_notebooks_leave_the_nbval_reference_in_solutions(fixture_notebook):
    """The expected text is CI's reference (and may give an answer away): exercises drop it."""
    solution = nbformat.read(fixture_notebook, as_version=4)
    assert solution.cells[9].metadata.nbval.expected
    exercise = make_exercises.exercise_notebook(solution)
    cell = next(c for c in exercise.cells if c.source == solution.cells[9].source)
    assert cell.metadata == {} and cell.outputs == []
    for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"):
        text = path.read_text(encoding="utf-8")
        assert NBVAL_TAG not in text and '"nbval"' not in text, f"{path}: run make_exercises.py"


def test_run_course_without_lessons_says_so(tmp_path, capsys):
    empty = tmp_path / "solutions"
    empty.mkdir()
    assert run_course.main(["--solutions-dir", str(empty), "--runs-dir", str(tmp_path / "r")]) == 0
    assert "No lesson notebooks in" in capsys.readouterr().out
    assert run_course.main(["--solutions-dir", str(empty), "--only", "03"]) == 2
    assert "not written yet" in capsys.readouterr().err
    assert run_course.main(["--solutions-dir", str(empty), "--only", "42"]) == 2
    assert "no lesson '42'" in capsys.readouterr().err


def test_checks_on_outputs_can_fail(tmp_path):
    bad = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "check.mean(mean)",
                outputs=[nbformat.v4.new_output("stream", name="stdout", text="done\n")],
            ),
        ]
    )
    with pytest.raises(AssertionError, match="printed no ✔ line"):
        assert_executed_cleanly(bad, "bad.ipynb")
    bad.cells[0].outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])
    ]
    with pytest.raises(AssertionError, match="ValueError: boom"):
        assert_executed_cleanly(bad, "bad.ipynb")

    (tmp_path / "metrics.json").write_text(json.dumps({"d_loss": None, "fid": 3.0}))
    with pytest.raises(AssertionError, match="not finite.*d_loss"):
        assert_out_dir(tmp_path, ())
    (tmp_path / "metrics.json").write_text(json.dumps({"fid": 3.0}))
    with pytest.raises(AssertionError, match="no samples.png"):
        assert_out_dir(tmp_path, ("samples.png",))
    (tmp_path / "samples.png").write_bytes(b"GIF89a")
    with pytest.raises(AssertionError, match="not a PNG"):
        assert_out_dir(tmp_path, ("samples.png",))

    with pytest.raises(pytest.fail.Exception, match="cell 0 is not valid Python"):
        broken = tmp_path / "broken.ipynb"
        nbformat.write(
            nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def f(:")]), broken
        )
        assert_valid_python(broken)


def test_fixture_and_its_exercise_are_valid_python(fixture_notebook, tmp_path):
    solutions, exercises = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    shutil.copy(fixture_notebook, solutions)  # write_exercises syncs the links of its solutions
    make_exercises.write_exercises(solutions, exercises)
    assert_valid_python(fixture_notebook)  # its colab-setup cell has a %pip line magic
    assert_valid_python(exercises / fixture_notebook.name)


def test_summary_keeps_other_lessons_when_one_is_rerun(tmp_path):
    def result(stem: str, status: str) -> run_course.Result:
        return run_course.Result(stem, "t", status, 1.0, {"g_loss": 0.5, "fid": 12.25})

    order = [lesson.stem for lesson in LESSONS]
    summary = tmp_path / "summary.json"
    old = [result("03_dcgan_svhn", "ok"), result("01_mlp_gan_mnist", "ok")]
    summary.write_text(json.dumps([asdict(r) for r in old]))
    merged = run_course._merge(summary, [result("01_mlp_gan_mnist", "failed")], order)
    assert [(r.lesson, r.status) for r in merged] == [
        ("01_mlp_gan_mnist", "failed"),
        ("03_dcgan_svhn", "ok"),
    ]
    text = run_course.table(merged)
    assert re.search(r"^03_dcgan_svhn\s+ok\s+1\.0\s+g_loss=0\.5\s+fid=12\.25$", text, re.M)


def test_lessons_are_found_by_number_or_stem():
    from tools.lessons import find

    assert find("1") is find("01") is find("01_mlp_gan_mnist.ipynb") is LESSONS[1]
    with pytest.raises(KeyError, match="known lessons: 00_gan_game"):
        find("9")


@pytest.mark.notebook
def test_run_course_fails_a_lesson_that_leaves_no_metrics(fixture_notebook, tmp_path):
    """A lesson that runs to the end but saves no metrics.json (or a figure) is not "ok"."""
    nb = nbformat.read(fixture_notebook, as_version=4)
    last = nb.cells[-1]
    assert "save_metrics(" in last.source and '"losses.png"' in last.source
    last.source = (
        "Path(OUT_DIR).mkdir(parents=True, exist_ok=True)\n"
        "Figure(figsize=(1, 1)).savefig(Path(OUT_DIR) / 'samples.png')\n"
        "print('forgot losses.png and metrics.json')"
    )
    notebook = tmp_path / "solutions" / "00_fixture.ipynb"
    notebook.parent.mkdir()
    nbformat.write(nb, notebook)
    lesson = Lesson("00_fixture", "fixture", "synthetic", {"STEPS": 5})

    result = run_course.run_lesson(lesson, notebook, tmp_path / "runs", device="cpu")
    assert result.status == "failed", result
    assert result.notebook and result.metrics == {}
    assert "metrics.json, losses.png" in result.error and "samples.png" not in result.error
    assert "00_fixture" in result.error and "OUT_DIR" in result.error


@pytest.mark.notebook
def test_run_course_one_at_a_time_leaves_threads_alone(fixture_notebook, tmp_path, monkeypatch):
    """jobs=1 (how a quick budget is checked) runs lessons in order with torch's own threads;
    jobs=2 sets the kernels' threads and restores the caller's environment afterwards."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    solutions, runs = tmp_path / "solutions", tmp_path / "runs"
    solutions.mkdir()
    for stem in ("00_gan_game", "01_mlp_gan_mnist"):
        shutil.copy(fixture_notebook, solutions / f"{stem}.ipynb")
    lessons = [find("00"), find("01")]
    results = run_course.run_course(lessons, solutions, runs, jobs=1)
    assert [r.lesson for r in results] == ["00_gan_game", "01_mlp_gan_mnist"]
    assert [r.status for r in results] == ["ok", "ok"]
    metrics = json.loads((runs / "01_mlp_gan_mnist" / "metrics.json").read_text())
    assert metrics["omp_num_threads"] == "unset"  # torch's own thread count
    results = run_course.run_course(lessons, solutions, runs, jobs=2)
    assert [r.status for r in results] == ["ok", "ok"]
    assert "OMP_NUM_THREADS" not in os.environ


def _process_dies(*args, **kwargs):  # at module level: the pool's worker finds it by name
    os._exit(3)


def test_run_course_reports_lessons_whose_process_died(tmp_path, monkeypatch, capsys):
    """A lesson process that dies (killed, out of memory) fails the unfinished lessons with an
    error saying what to do, instead of stopping the course with BrokenProcessPool."""
    monkeypatch.setattr(run_course, "run_lesson", _process_dies)
    lessons = [find("00"), find("01")]
    results = run_course.run_course(lessons, tmp_path / "solutions", tmp_path / "runs", jobs=2)
    assert [r.status for r in results] == ["failed", "failed"]
    assert "died" in results[0].error
    assert "python tools/run_course.py --jobs 1 --only 00" in results[0].error
    out = capsys.readouterr().out
    assert "  00_gan_game: failed in 0.0 s: a process running the lessons died" in out
    assert json.loads((tmp_path / "runs" / "summary.json").read_text())[0]["status"] == "failed"


def test_run_course_set_overrides_a_parameter(fixture_notebook, tmp_path, capsys):
    """--set NAME=VALUE (a Python literal) goes on top of the quick parameters."""
    assert run_course._assignment("STEPS=7") == ("STEPS", 7)
    assert run_course._assignment("LOSS=hinge") == ("LOSS", "hinge")
    assert run_course.main(["--set", "7=STEPS"]) == 2
    assert "--set needs NAME=VALUE" in capsys.readouterr().err
    solutions, runs = tmp_path / "solutions", tmp_path / "runs"
    solutions.mkdir()
    shutil.copy(fixture_notebook, solutions / "00_gan_game.ipynb")
    args = ["--solutions-dir", str(solutions), "--runs-dir", str(runs), "--set", "STEPS=7"]
    assert run_course.main(args) == 0
    assert json.loads((runs / "00_gan_game" / "metrics.json").read_text())["steps"] == 7
