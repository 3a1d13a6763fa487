"""Run the whole course, lesson by lesson, and collect what each lesson produced.

``make course`` calls this. Every solution notebook (or, with ``--exercises``, every learner's
notebook) is executed with papermill in order, with the quick parameters of tools/lessons.py
(``--full``: the notebook's own defaults) and offline data unless ``--source auto``. Lesson
``<stem>`` writes into ``runs/<stem>/`` (its OUT_DIR): the executed notebook, its figures and
metrics.json. At the end come a table, ``runs/summary.json`` and ``runs/index.html`` (open it in a
browser). A failing lesson does not stop the others; the exit status is 1 if any failed.

Lessons run two at a time (``--jobs``), each kernel with half the CPU's threads: on 2 cores two
one-thread lessons finish the course about 1.5x sooner than one two-thread lesson after another
(a small model cannot keep two threads busy, and imports and plotting use one). A lesson's own
time is then measured on shared cores: check a quick budget with ``--jobs 1 --only LESSON``.

Whatever lessons exist are run; with none written yet it says so and exits 0.

    python tools/run_course.py                 # all lessons, quick, offline
    python tools/run_course.py --only 01       # one lesson
    python tools/run_course.py --full --source auto
    python tools/run_course.py --jobs 1 --only 03  # one lesson on idle cores: its budget
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import functools
import html
import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from nbformat import NotebookNode

if __package__ in (None, ""):  # run as a script: make `tools` importable from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.lessons import LESSONS, ROOT, Lesson, existing, find, run_parameters, unlisted

KERNEL = "python3"  # the kernelspec every notebook declares; .venv's python (see tests)


@dataclass
class Result:
    """What one lesson run gave: one entry of runs/summary.json."""

    lesson: str
    title: str
    status: str  # "ok" or "failed"
    seconds: float
    metrics: dict = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)  # relative to the runs folder
    notebook: str | None = None  # the executed notebook, relative to the runs folder
    error: str | None = None


def execute(
    path: Path, out_dir: Path, parameters: dict, *, timeout: float | None = None
) -> NotebookNode:
    """Execute one notebook with papermill into ``out_dir`` (also its working directory).

    Raises papermill's PapermillExecutionError (or the kernel's error) when a cell fails; the
    executed notebook, with the error in it, is written either way.
    """
    import papermill

    out_dir.mkdir(parents=True, exist_ok=True)
    # papermill's own parameter parser misreads lines such as `DEVICE = None  # None = best` and
    # warns about "unknown" parameters that run_parameters() already checked exist: keep it quiet.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    # the kernel inherits TQDM_DISABLE: no widget bars in saved notebooks
    with _environ(TQDM_DISABLE="1"):
        return papermill.execute_notebook(
            str(path),
            str(out_dir / path.name),
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(out_dir),
            progress_bar=False,
            execution_timeout=timeout,
        )


@contextlib.contextmanager
def _environ(*, keep: bool = False, **values: str) -> Iterator[None]:
    """Set environment variables (which kernels started inside inherit), then restore them.

    ``keep``: leave a variable the user set alone."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if not (keep and saved[name] is not None):
            os.environ[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def error_summary(err: BaseException) -> str:
    """One readable line for a failed run (papermill's errors carry the cell's exception)."""
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    if ename:
        cell = getattr(err, "exec_count", None)
        return f"{ename}: {evalue}" + (f" (cell [{cell}])" if cell is not None else "")
    return f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"


def _read_metrics(out_dir: Path) -> tuple[dict, str | None]:
    path = out_dir / "metrics.json"
    if not path.exists():
        return {}, None
    try:
        return json.loads(path.read_text()), None
    except json.JSONDecodeError as err:
        return {}, f"{path} is not valid JSON ({err})"


def _missing_outputs(lesson: Lesson, out_dir: Path) -> str | None:
    """What a lesson that ran to the end failed to leave in its OUT_DIR, or None if nothing."""
    missing = [name for name in ("metrics.json", *lesson.figures) if not (out_dir / name).exists()]
    if not missing:
        return None
    return (
        f"ran, but {out_dir} has no {', '.join(missing)}: the notebook must write them to OUT_DIR "
        "(ganlib.report.save_metrics and the figures listed for it in tools/lessons.py)"
    )


def run_lesson(
    lesson: Lesson,
    notebook: Path,
    runs_dir: Path,
    *,
    quick: bool = True,
    source: str = "offline",
    device: str | None = None,
    timeout: float | None = None,
    overrides: dict[str, object] | None = None,
) -> Result:
    """Run one lesson into ``runs_dir/<stem>/`` (emptied first, so no stale figures or resume).

    ``overrides``: parameter values on top of the quick (or full) ones, e.g. to try new ones."""
    _say(f"running {lesson.stem} ...")
    out_dir = (runs_dir / lesson.stem).resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    start = time.perf_counter()
    status, error = "ok", None
    try:
        parameters, dropped = run_parameters(
            lesson, notebook, quick=quick, **(overrides or {}),
            OUT_DIR=str(out_dir), DATA_SOURCE=source, DEVICE=device,
        )  # fmt: skip
        if dropped:
            _say(
                f"  note: {notebook.name} has no parameter(s) {', '.join(dropped)}; "
                "update tools/lessons.py or the notebook's parameters cell"
            )
        execute(notebook, out_dir, parameters, timeout=timeout)
    except Exception as err:  # noqa: BLE001 - any failure is reported and the course goes on
        status, error = "failed", error_summary(err)
    seconds = round(time.perf_counter() - start, 1)
    metrics, metrics_error = _read_metrics(out_dir)
    if metrics_error and status == "ok":
        status, error = "failed", metrics_error
    missing = _missing_outputs(lesson, out_dir) if status == "ok" else None
    if missing:
        status, error = "failed", missing
    executed = out_dir / notebook.name
    return Result(
        lesson=lesson.stem,
        title=lesson.title,
        status=status,
        seconds=seconds,
        metrics=metrics,
        figures=[p.relative_to(runs_dir.resolve()).as_posix() for p in _figures(out_dir)],
        notebook=executed.relative_to(runs_dir.resolve()).as_posix() if executed.exists() else None,
        error=error,
    )


def _figures(out_dir: Path) -> list[Path]:
    """PNG files, samples and losses first (the ones a reader looks for)."""
    first = {"samples.png": 0, "losses.png": 1}
    return sorted(out_dir.rglob("*.png"), key=lambda p: (first.get(p.name, 2), p.as_posix()))


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _split_metrics(metrics: dict) -> tuple[str, str]:
    losses = {k: v for k, v in metrics.items() if "loss" in k}
    others = {k: v for k, v in metrics.items() if "loss" not in k}
    show = lambda d: " ".join(f"{k}={_number(v)}" for k, v in sorted(d.items()))  # noqa: E731
    return show(losses), show(others)


def table(results: list[Result]) -> str:
    """A plain-text table of the results, one row per lesson."""
    rows = [("lesson", "status", "seconds", "final losses", "metrics or error")]
    for r in results:
        losses, others = _split_metrics(r.metrics)
        rows.append(
            (
                r.lesson,
                r.status,
                f"{r.seconds:.1f}",
                losses or "-",
                (others or "-") if r.status == "ok" else (r.error or ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


#: The numbers that say whether a quick run learned (issue 14), shown next to its picture.
KEY_METRICS = (
    "fid", "fid_untrained", "fid_score", "classes_covered", "fid_translated", "fid_source",
    "modes_balanced", "modes_bce", "modes_wgan_gp", "modes_sn_hinge", "accuracy",
    "accuracy_colour",
)  # fmt: skip


def _key_numbers(metrics: dict) -> str:
    return ", ".join(f"{k} {_number(metrics[k])}" for k in KEY_METRICS if k in metrics)


def _final_figure(result: Result) -> str | None:
    """The lesson's final picture (tools/lessons.py ``final``), else its first figure."""
    lesson = next((x for x in LESSONS if x.stem == result.lesson), None)
    wanted = f"{result.lesson}/{lesson.final}" if lesson else None
    if wanted in result.figures:
        return wanted
    return result.figures[0] if result.figures else None


def write_index(results: list[Result], runs_dir: Path) -> Path:
    """runs/index.html: each lesson's status, metrics and figures (image paths are relative)."""
    e = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>GAN course run</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "img{max-width:48%;margin:4px;border:1px solid #ddd;vertical-align:top}"
        "img.thumb{max-width:none;height:110px;margin:0}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
        ".ok{color:#176f2c}.failed{color:#b00020}</style></head><body>",
        "<h1>GAN course run</h1>",
        "<table><tr><th>lesson</th><th>status</th><th>seconds</th><th>result</th>"
        "<th>key numbers</th></tr>",
    ]
    for r in results:
        final = _final_figure(r)
        thumb = (
            f'<a href="{e(final)}"><img class="thumb" src="{e(final)}" alt="{e(final)}"></a>'
            if final
            else ""
        )
        parts.append(
            f'<tr><td><a href="#{e(r.lesson)}">{e(r.lesson)}</a></td>'
            f'<td class="{e(r.status)}">{e(r.status)}</td><td>{r.seconds:.1f}</td>'
            f"<td>{thumb}</td><td>{e(_key_numbers(r.metrics))}</td></tr>"
        )
    parts.append("</table>")
    for r in results:
        parts.append(f'<h2 id="{e(r.lesson)}">{e(r.lesson)}: {e(r.title)}</h2>')
        parts.append(
            f'<p class="{e(r.status)}">{e(r.status)} in {r.seconds:.1f} s'
            + (f": {e(r.error)}" if r.error else "")
            + "</p>"
        )
        if r.notebook:
            parts.append(f'<p>executed notebook: <a href="{e(r.notebook)}">{e(r.notebook)}</a></p>')
        if r.metrics:
            parts.append(
                "<table>"
                + "".join(
                    f"<tr><td>{e(str(k))}</td><td>{e(_number(v))}</td></tr>"
                    for k, v in sorted(r.metrics.items())
                )
                + "</table>"
            )
        for fig in r.figures:
            parts.append(
                f'<a href="{e(fig)}"><img src="{e(fig)}" alt="{e(fig)}" title="{e(fig)}"></a>'
            )
    parts.append("</body></html>")
    path = runs_dir / "index.html"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def _merge(previous: Path, results: list[Result], order: list[str]) -> list[Result]:
    """Keep earlier entries of lessons not run this time (``--only``), in course order."""
    merged = {r.lesson: r for r in results}
    if previous.exists():
        try:
            for entry in json.loads(previous.read_text()):
                if entry.get("lesson") in order and entry["lesson"] not in merged:
                    merged[entry["lesson"]] = Result(**entry)
        except (json.JSONDecodeError, TypeError, KeyError):
            pass  # an unreadable old summary is simply replaced
    return sorted(merged.values(), key=lambda r: order.index(r.lesson) if r.lesson in order else 99)


def default_jobs() -> int:
    """Two lessons at a time where there are two cores or more (see the module docstring)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _say(line: str) -> None:
    """Print a line in one write: two lessons' processes share the terminal (and with
    PYTHONUNBUFFERED, print writes the text and its newline separately)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _report(lesson: Lesson, result: Result, *, quick: bool, jobs: int) -> None:
    _say(
        f"  {lesson.stem}: {result.status} in {result.seconds:.1f} s"
        + (f": {result.error}" if result.error else "")
    )
    if result.status == "ok" and quick and jobs == 1 and result.seconds > lesson.budget_s:
        _say(
            f"  note: over its {lesson.budget_s:.0f} s quick budget: lower its quick "
            "parameters in tools/lessons.py"
        )


def _outcome(future: concurrent.futures.Future, lesson: Lesson) -> Result:
    """The lesson's result, or a failed one if a process of the pool died (killed, out of
    memory): the pool then stops, and every lesson not yet finished is reported so."""
    try:
        return future.result()
    except concurrent.futures.process.BrokenProcessPool:
        return Result(
            lesson.stem,
            lesson.title,
            "failed",
            0.0,
            error="a process running the lessons died (killed, or out of memory?) before this "
            f"one finished; run it alone: python tools/run_course.py --jobs 1 --only {lesson.number}",
        )


def run_course(
    lessons: list[Lesson],
    notebooks_dir: Path,
    runs_dir: Path,
    *,
    quick: bool = True,
    jobs: int = 1,
    **options,
) -> list[Result]:
    """Run ``lessons`` from ``notebooks_dir``; print progress; write summary.json and index.html.

    ``jobs`` > 1 runs that many lessons at once, the longest (by quick budget) first, each kernel
    with ``OMP_NUM_THREADS`` = cores / jobs unless it is set already."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs, len(lessons)))
    run = functools.partial(run_lesson, runs_dir=runs_dir, quick=quick, **options)
    done: dict[str, Result] = {}
    with contextlib.ExitStack() as stack:
        if jobs == 1:
            finished = (
                (lesson, run(lesson, notebooks_dir / lesson.filename)) for lesson in lessons
            )
        else:
            threads = str(max(1, (os.cpu_count() or 1) // jobs))
            stack.enter_context(
                _environ(keep=True, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
            )
            _say(
                f"{len(lessons)} lessons, {jobs} at a time, "
                f"{os.environ['OMP_NUM_THREADS']} thread(s) each"
            )
            pool = stack.enter_context(concurrent.futures.ProcessPoolExecutor(max_workers=jobs))
            longest_first = sorted(lessons, key=lambda lesson: -lesson.budget_s)  # stable sort
            futures = {
                pool.submit(run, lesson, notebooks_dir / lesson.filename): lesson
                for lesson in longest_first
            }
            finished = (
                (futures[f], _outcome(f, futures[f]))
                for f in concurrent.futures.as_completed(futures)
            )
        for lesson, result in finished:
            _report(lesson, result, quick=quick, jobs=jobs)
            done[lesson.stem] = result
    results = [done[lesson.stem] for lesson in lessons]
    summary = runs_dir / "summary.json"
    everything = _merge(
        summary,
        results,
        [lesson.stem for lesson in LESSONS]
        + [lesson.stem for lesson in lessons if lesson not in LESSONS],
    )
    summary.write_text(json.dumps([asdict(r) for r in everything], indent=2) + "\n")
    write_index(everything, runs_dir)
    return results


def _assignment(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` with VALUE a Python literal (a bare word is taken as a string)."""
    import ast

    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise ValueError(f"--set needs NAME=VALUE, got {text!r}")
    try:
        return name.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return name.strip(), value.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--exercises",
        action="store_true",
        help="run the learner's notebooks (notebooks/) instead of solutions/",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="full-length lessons: the notebooks' own defaults, not the quick ones",
    )
    parser.add_argument(
        "--source",
        default="offline",
        choices=["offline", "auto", "download"],
        help="DATA_SOURCE for every lesson (default offline: no network)",
    )
    parser.add_argument(
        "--device",
        default=None,
        help="DEVICE for every lesson (default: the notebook's, the best available)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="LESSON",
        help="run only this lesson (number or stem); may be repeated",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds any one cell may take (default: no limit)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a parameter (a Python literal), e.g. --set STEPS=400; may be repeated",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="lessons run at once (default: 2 on 2 cores or more); 1 to time a lesson alone",
    )
    parser.add_argument("--solutions-dir", type=Path, default=ROOT / "solutions")
    parser.add_argument("--notebooks-dir", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs")
    args = parser.parse_args(argv)
    try:
        overrides = dict(_assignment(text) for text in args.set)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    folder = args.notebooks_dir if args.exercises else args.solutions_dir
    for stray in unlisted(folder):
        print(
            f"warning: {stray} is not listed in tools/lessons.py: add a Lesson entry "
            "(stem, title, dataset, quick parameters) to run it"
        )
    lessons = existing(folder)
    if args.only:
        try:
            wanted = [find(key) for key in args.only]
        except KeyError as err:
            print(f"error: {err.args[0]}", file=sys.stderr)
            return 2
        missing = [lesson for lesson in wanted if lesson not in lessons]
        if missing:
            print(
                "error: not written yet: " + ", ".join(str(folder / m.filename) for m in missing),
                file=sys.stderr,
            )
            return 2
        lessons = [lesson for lesson in lessons if lesson in wanted]
    if not lessons:
        print(
            f"No lesson notebooks in {folder} yet (expected files like "
            f"{LESSONS[0].filename}); nothing to run."
        )
        return 0

    results = run_course(
        lessons,
        folder,
        args.runs_dir,
        quick=not args.full,
        jobs=args.jobs,
        source=args.source,
        device=args.device,
        timeout=args.timeout,
        overrides=overrides,
    )
    print()
    print(table(results))
    print(f"\nsummary: {args.runs_dir / 'summary.json'}   figures: {args.runs_dir / 'index.html'}")
    failed = [r.lesson for r in results if r.status != "ok"]
    if failed:
        print(f"{len(failed)} lesson(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
