"""Memory of lesson 05's preprocessing on CelebA-sized data: chunked (map_images) vs whole array.

Lesson 05 loads CelebA at 64 px (``load_size``) and calls the learner's ``preprocess`` (centre crop,
``F.interpolate(antialias=True)`` on float, back to uint8) to get 32 px faces. Called on the whole
train split at once, it makes a float copy of every image; ``ganlib.data.map_images`` calls it
chunk by chunk into one preallocated uint8 output. This benchmark measures both, side by side.

1. It builds ``--n`` synthetic faces as real-sized CelebA JPEGs: 178 x 218, quality 90, the
   offline stand-in faces upscaled with a little noise, about CelebA's 7.1 KB per file, zipped
   as ``img_align_celeba/000001.jpg``... like ``img_align_celeba.zip``.
2. It loads them through the real path (``load("celeba", source="download")`` finds the zip in
   the cache, checks its MD5, decodes it with ``readers.read_celeba`` and caches the array), at
   64 px and at 80 px (the load size for ``IMAGE_SIZE = 64``), timing the decoding.
3. For each setting (64 -> 32 px, the lesson's default; 80 -> 64 px) and each way (chunked,
   whole array) a fresh process takes ``preprocess`` from lesson 05's solution notebook, loads
   the cached array, and the peak resident memory above what
   it held before the call (the decoded uint8 array and the libraries) is read from the kernel's
   high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs``; without it, RSS is
   sampled every millisecond). Python's tracemalloc does not see torch's allocations.
4. It extrapolates to CelebA's 162,770 training photos: the uint8 output and a whole-array call's
   float copies grow with the number of photos, a chunk's working set does not. The decoding
   time is extrapolated to the first load of lesson 05 (train + test: 182,732 photos) and to all
   202,599 photos. These are extrapolations from ``--n`` photos, not measurements on CelebA.

Run: ``python benchmarks/data_memory.py`` (``--n 10000``: 111 s on an idle 2-core CPU, 38 s of it
building the JPEGs); the last line is ``RESULT {json}``. Linux only (it reads ``/proc``).

Measured (``--n 10000``, idle 2-core CPU): decoding 0.97 s per 1,000 photos at 64 px (so about
3 minutes for lesson 05's first load of CelebA, train + test, after the download; then 2 s from
the cache). Peak above the decoded array, extrapolated to 162,770 photos: 64 -> 32 px, chunked
0.52 GB (the 0.50 GB output + 20 MB), whole array 10.3 GB; 80 -> 64 px, chunked 2.03 GB (the
2.00 GB output + 30 MB), whole array 24 GB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

CELEBA_TRAIN, CELEBA_TEST, CELEBA_ALL = 162_770, 19_962, 202_599
CELEBA_ZIP_BYTES = 1_443_490_838
SETTINGS = [(64, 32), (80, 64)]  # (load size, IMAGE_SIZE): lesson 05 with IMAGE_SIZE 32 and 64
CROP = 0.8  # lesson 05's default
MB = 1e6
ROOT = Path(__file__).resolve().parents[1]


def lesson_preprocess():
    """Lesson 05's ``preprocess`` as its reference solution defines it (the function only)."""
    import ast

    import nbformat

    notebook = nbformat.read(ROOT / "solutions" / "05_face_generation_project.ipynb", as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code" or "def preprocess(" not in cell.source:
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef) and node.name == "preprocess":
                namespace = {"torch": torch, "F": F, "CROP": CROP}
                exec(compile(ast.Module([node], []), "lesson 05", "exec"), namespace)
                return namespace["preprocess"]
    raise LookupError("no `def preprocess` in lesson 05's solution notebook")


# ----------------------------------------------------------------------------- the data


def build_zip(path: Path, n: int) -> float:
    """Write ``n`` CelebA-like JPEGs (178 x 218) into a zip like img_align_celeba.zip; return the
    mean JPEG size in bytes."""
    from PIL import Image

    from ganlib.data import standins

    distinct = min(n, 500)  # faces drawn; each is used with 16 noise fields, flipped or not
    faces, _ = standins.celeba_standin(n=distinct, size=64, seed=123)
    rng = np.random.default_rng(0)
    noise = [rng.normal(0, 2, (218, 178, 3)).astype(np.float32) for _ in range(16)]

    def jpeg(i: int) -> bytes:
        face = faces[i % distinct : i % distinct + 1].float()
        face = face.flip(-1) if (i // distinct) % 2 else face
        photo = F.interpolate(face, size=(218, 178), mode="bicubic", align_corners=False)[0]
        pixels = (photo.permute(1, 2, 0).numpy() + noise[i % 16]).clip(0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        return buffer.getvalue()

    total = 0
    with (
        zipfile.ZipFile(path, "w") as zf,
        ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool,
    ):
        for i, data in enumerate(pool.map(jpeg, range(n))):
            zf.writestr(f"img_align_celeba/{i + 1:06d}.jpg", data)
            total += len(data)
    return total / n


def point_load_at(cache: Path, archive: Path, md5: str) -> None:
    """Make ``load("celeba")`` find ``archive`` in ``cache`` (no network: a dead mirror)."""
    from ganlib.data import datasets

    os.environ["GANLIB_DATA_DIR"] = str(cache)
    datasets.REMOTE["celeba"] = [
        datasets.RemoteFile(archive.name, ("http://127.0.0.1:9/",), md5=md5, size=archive.stat().st_size)
    ]  # fmt: skip


# ----------------------------------------------------------------------------- memory


def _kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_above(step) -> tuple[int, float, str]:
    """Run ``step()``; return the peak resident bytes above those held before, the seconds, and
    how the peak was measured."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark VmHWM to the current RSS
        how = "VmHWM"
    except OSError:
        how = "RSS sampled every ms"
    before = _kib("VmRSS")
    samples = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.001):
            samples.append(_kib("VmRSS"))

    sampler = threading.Thread(target=sample) if how != "VmHWM" else None
    if sampler:
        sampler.start()
    start = time.perf_counter()
    step()
    seconds = time.perf_counter() - start
    done.set()
    if sampler:
        sampler.join()
    peak = _kib("VmHWM") if how == "VmHWM" else max(samples)
    return peak - before, seconds, how


def measure(way: str, load_size: int, image_size: int) -> dict:
    """In this (fresh) process: the peak memory of preprocessing the cached array one way."""
    from ganlib import data

    preprocess = lesson_preprocess()
    images = data.load("celeba", image_size=load_size, source="download").images
    data.map_images(preprocess, images[:8], image_size, progress=False)  # warm up torch's kernels
    result = {}

    def step() -> None:
        if way == "chunked":
            result["out"] = data.map_images(preprocess, images, image_size, progress=False)
        else:
            result["out"] = preprocess(images, image_size)

    peak, seconds, how = peak_above(step)
    out = result["out"]
    return {"peak_above": peak, "seconds": seconds, "how": how, "n": len(images),
            "output_bytes": out.numel(), "input_bytes": images.numel()}  # fmt: skip


def in_fresh_process(way: str, load_size: int, image_size: int, cache: Path, archive: Path, md5):
    """``measure`` in a new process. Its malloc returns every large block to the system when it is
    freed (a fixed mmap threshold), so its resident memory follows the memory in use."""
    command = [sys.executable, __file__, "--measure", way, str(load_size), str(image_size),
               "--cache", str(cache), "--archive", str(archive), "--md5", md5]  # fmt: skip
    env = {**os.environ, "TQDM_DISABLE": "1", "MALLOC_MMAP_THRESHOLD_": "131072"}
    lines = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(lines.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="synthetic photos (<= 162,770)")
    parser.add_argument(
        "--measure", nargs=3, metavar=("WAY", "LOAD", "SIZE"), help=argparse.SUPPRESS
    )
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--archive", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--md5", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a child process: one measurement, printed as JSON
        point_load_at(args.cache, args.archive, args.md5)
        way, load_size, image_size = args.measure
        print(json.dumps(measure(way, int(load_size), int(image_size))))
        return
    if not 1 <= args.n <= CELEBA_TRAIN:
        parser.error(f"--n must be between 1 and {CELEBA_TRAIN:,}")
    began = time.perf_counter()
    from ganlib import data
    from ganlib.data import download

    with tempfile.TemporaryDirectory() as tmp:
        cache, archive = Path(tmp) / "cache", Path(tmp) / "img_align_celeba.zip"
        (cache / "celeba").mkdir(parents=True)
        start = time.perf_counter()
        mean_jpeg = build_zip(archive, args.n)
        print(f"built {args.n:,} JPEGs 178x218 (mean {mean_jpeg / 1000:.1f} KB; CelebA's: "
              f"{CELEBA_ZIP_BYTES / CELEBA_ALL / 1000:.1f} KB) in {time.perf_counter() - start:.1f} s")  # fmt: skip
        archive = archive.rename(cache / "celeba" / archive.name)
        md5 = download.file_hash(archive, "md5")
        point_load_at(cache, archive, md5)
        start = time.perf_counter()  # what the first load checks (then remembers) before decoding
        assert download.verify_cached(archive, md5=md5, size=archive.stat().st_size)
        md5_per_byte = (time.perf_counter() - start) / archive.stat().st_size
        decode = {}
        for load_size, _ in SETTINGS:
            start = time.perf_counter()
            data.load("celeba", image_size=load_size, source="download")  # decode, then cache
            decode[load_size] = (time.perf_counter() - start) / args.n * 1000
            print(f"first load at {load_size} px (decoding with the progress bar, cache write): "
                  f"{decode[load_size]:.2f} s per 1,000 photos")  # fmt: skip
        start = time.perf_counter()
        assert data.load("celeba", image_size=64).source == "cache"
        cached = (time.perf_counter() - start) / args.n * 1000
        print(f"later loads at 64 px (from the cache file): {cached:.3f} s per 1,000 photos")

        rows = []
        for load_size, image_size in SETTINGS:
            for way in ("chunked", "whole array"):
                m = in_fresh_process(way, load_size, image_size, cache, archive, md5)
                scale = CELEBA_TRAIN / m["n"]
                if way == "chunked":  # the output grows with n, one chunk's working set does not
                    working = m["peak_above"] - m["output_bytes"]
                    full = m["output_bytes"] * scale + max(working, 0)
                else:
                    full = m["peak_above"] * scale
                rows.append({"way": way, "load_size": load_size, "image_size": image_size,
                             "peak_above_mb": m["peak_above"] / MB, "seconds": m["seconds"],
                             "celeba_train_peak_above_gb": full / 1e9,
                             "celeba_train_decoded_gb": m["input_bytes"] * scale / 1e9,
                             "measured_by": m["how"]})  # fmt: skip
                print(f"{load_size} -> {image_size} px, {way:>11}: {m['peak_above'] / MB:7.1f} MB "
                      f"above the decoded array ({m['input_bytes'] / MB:.0f} MB) in "
                      f"{m['seconds']:.2f} s; extrapolated to {CELEBA_TRAIN:,} photos: "
                      f"{full / 1e9:.2f} GB above {m['input_bytes'] * scale / 1e9:.2f} GB")  # fmt: skip
    first_load = decode[64] / 1000 * (CELEBA_TRAIN + CELEBA_TEST) + md5_per_byte * CELEBA_ZIP_BYTES
    print(f"extrapolated first load of lesson 05 (train + test at 64 px, {CELEBA_TRAIN + CELEBA_TEST:,} "
          f"photos, after the 1.4 GB download): {first_load / 60:.1f} min; all {CELEBA_ALL:,} "
          f"photos: {decode[64] / 1000 * CELEBA_ALL / 60:.1f} min; later loads of the train split: "
          f"{cached / 1000 * CELEBA_TRAIN:.0f} s (page cache permitting)")  # fmt: skip
    result = {"n": args.n, "mean_jpeg_bytes": round(mean_jpeg),
              "decode_s_per_1000": {str(k): round(v, 3) for k, v in decode.items()},
              "celeba_first_load_min": round(first_load / 60, 2), "threads": os.cpu_count(),
              "cached_load_s_per_1000": round(cached, 4),
              "rows": rows, "seconds": round(time.perf_counter() - began, 1)}  # fmt: skip
    print(f"RESULT {json.dumps(result)}")


if __name__ == "__main__":
    main()
