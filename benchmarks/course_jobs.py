"""How long ``make course`` takes one lesson at a time against two at a time, in one run.

``make course`` runs two lessons at once, each kernel with half of the CPU's threads
(tools/run_course.py). This runs the same lessons (quick parameters, offline data) with
``jobs=1`` and then ``jobs=2``, each into a fresh folder, and prints both wall times, their ratio
and each lesson's key numbers, so a reader can see how little sharing the cores changes what a
lesson shows (one thread rounds differently from two: measured, lesson 03's FID 2.4 instead of
2.3, lesson 07's accuracies 75% and 34% instead of 74% and 32%). A VM's speed drifts by up to 25%
over minutes, and the machines differ (AVX2 or AVX-512): compare the two sides of one run, not
runs of different days. Measured on 2 cores with AVX-512: 231 s against 157 s (1.47x); with AVX2
only, 466 s against 323 s (1.44x). Run it on an otherwise idle machine:

    python benchmarks/course_jobs.py                 # all lessons: 6-13 minutes on 2 cores
    python benchmarks/course_jobs.py --only 00 01    # a subset

The last line is ``RESULT {json}``: per side the wall seconds and each lesson's seconds and status.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.lessons import LESSONS, find  # noqa: E402
from tools.run_course import KEY_METRICS, run_course  # noqa: E402


def measure(lessons: list, jobs: int, runs_dir: Path) -> dict:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # the runner's progress lines
        results = run_course(lessons, ROOT / "solutions", runs_dir, jobs=jobs)
    wall = time.perf_counter() - start
    print(f"jobs={jobs}: {wall:.0f} s wall", flush=True)
    for r in results:
        key = {k: r.metrics[k] for k in KEY_METRICS if k in r.metrics}
        print(f"  {r.lesson:28} {r.status:6} {r.seconds:6.1f} s  {key}", flush=True)
    return {
        "wall_s": round(wall, 1),
        "lessons": {r.lesson: {"seconds": r.seconds, "status": r.status} for r in results},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=[lesson.number for lesson in LESSONS])
    args = parser.parse_args(argv)
    lessons = [find(number) for number in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        result = {f"jobs_{j}": measure(lessons, j, Path(tmp) / str(j)) for j in (1, 2)}
    ratio = result["jobs_1"]["wall_s"] / result["jobs_2"]["wall_s"]
    print(f"two at a time finishes {ratio:.2f}x sooner than one at a time")
    print("RESULT " + json.dumps({**result, "speedup": round(ratio, 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
