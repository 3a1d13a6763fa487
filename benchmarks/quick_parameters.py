"""What each lesson's quick run shows with the chosen quick parameters, against the previous ones.

``make course`` runs every lesson with the quick parameters of ``tools/lessons.py``. They were
once chosen for speed alone (``PREVIOUS`` below, as of commit cdcf246); now they are chosen for
the most learning per CPU second. This runs each lesson twice in one run, the previous quick
parameters and then the current ones, each on the offline data with a fresh OUT_DIR, and prints
the wall time and the lesson's quality metric side by side:

* 01, 03, 05: ``fid / fid_untrained`` (target at most 0.5) and, for 01 and 03, digits covered;
* 04: ``fid_translated / fid_source`` (target at most 0.7).

Lessons 00 and 02 show a collapse and a fix rather than a score; 06 and 07 had no previous
parameters. Run it on an otherwise idle machine (the times are part of the result):

    python benchmarks/quick_parameters.py                # lessons 01, 03, 04, 05: ~12 minutes
    python benchmarks/quick_parameters.py --only 01 03   # a subset

The last line is ``RESULT {json}``: per lesson and side the seconds and the metrics.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.lessons import find  # noqa: E402
from tools.run_course import run_lesson  # noqa: E402

# The quick parameters chosen for speed alone (tools/lessons.py at commit cdcf246).
PREVIOUS: dict[str, dict[str, object]] = {
    "01": {"EPOCHS": 50, "STEPS": 2500, "BATCH_SIZE": 64, "N_EVAL": 500},
    "03": {"EPOCHS": 1, "STEPS": 60, "BATCH_SIZE": 32, "EXPERIMENT_STEPS": 30, "N_EVAL": 200},
    "04": {"EPOCHS": 1, "STEPS": 20, "BATCH_SIZE": 1, "IMAGE_SIZE": 32},
    "05": {"EPOCHS": 1, "STEPS": 150, "BATCH_SIZE": 32, "IMAGE_SIZE": 32, "N_EVAL": 500},
}


def headline(metrics: dict) -> dict[str, float]:
    """The numbers the issue's targets are stated in, from a lesson's metrics.json."""
    found: dict[str, float] = {}
    if "fid" in metrics and "fid_untrained" in metrics:
        found["fid_ratio"] = metrics["fid"] / metrics["fid_untrained"]
        found["fid"] = metrics["fid"]
    if "fid_translated" in metrics and "fid_source" in metrics:
        found["translated_ratio"] = metrics["fid_translated"] / metrics["fid_source"]
    if "classes_covered" in metrics:
        found["classes_covered"] = metrics["classes_covered"]
    return found


def targets_met(number: str, values: dict[str, float]) -> bool:
    """The issue's targets for a quick run: FID at most half an untrained generator's (01, 03,
    05), 8 digits or more (01), translations at most 0.7 times the seasons' own FID (04)."""
    met = values.get("fid_ratio", 0.0) <= 0.5 and values.get("translated_ratio", 0.0) <= 0.7
    return met and (number != "01" or values.get("classes_covered", 0) >= 8)


def measure(number: str, runs_dir: Path) -> dict[str, dict]:
    lesson = find(number)
    sides = {"previous": dataclasses.replace(lesson, quick=PREVIOUS[number]), "chosen": lesson}
    result = {}
    for side, variant in sides.items():
        run = run_lesson(variant, variant.solution(), runs_dir / side)
        result[side] = {"seconds": run.seconds, **headline(run.metrics)}
        result[side]["targets_met"] = run.status == "ok" and targets_met(number, result[side])
        if run.status != "ok":  # e.g. lesson 05's pass mark, failed by a too-short run
            result[side]["failed"] = (run.error or "").splitlines()[0]
            print(f"{lesson.stem:28} {side:8} failed: {run.error}", flush=True)
            continue
        budget = "within" if run.seconds <= lesson.budget_s else "OVER"
        print(
            f"{lesson.stem:28} {side:8} {run.seconds:6.1f} s ({budget} {lesson.budget_s:.0f} s)  "
            f"{_text(result[side])}",
            flush=True,
        )
    return result


def _text(values: dict) -> str:
    return "  ".join(
        f"{k}={v:.3g}" for k, v in values.items() if isinstance(v, float | int) and k != "seconds"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=list(PREVIOUS), choices=list(PREVIOUS))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = {number: measure(number, Path(tmp)) for number in args.only}
    print("RESULT " + json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
