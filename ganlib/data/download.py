"""Download files safely: mirrors, retries, resume, checksums, and safe archive extraction.

Only the standard library talks to the network (``urllib``), so nothing extra is installed.
A download is written to ``<file>.part`` and renamed to its final name only once it is complete
and its checksum matches, so a cache never holds half a file under a real name. When every mirror
fails, :class:`DataUnavailableError` says which URLs were tried, why each failed, and where to
put the file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("ganlib.data")

#: Seconds to wait before retrying a URL (doubled on each retry). Tests set it to 0.
RETRY_WAIT = 1.0
#: Seconds without any data before a connection counts as dead.
TIMEOUT = 30.0
CHUNK = 1 << 16
USER_AGENT = "ganlib (course data loader; python urllib)"


class DataUnavailableError(RuntimeError):
    """The real dataset could not be fetched; the message says why and how to fix it by hand.

    ``summary`` is a short version for one-line logs.
    """

    def __init__(self, summary: str, details: str | None = None) -> None:
        super().__init__(details or summary)
        self.summary = summary


class UnsafeArchiveError(DataUnavailableError):
    """An archive member would land outside the target folder (zip slip); nothing was extracted."""


class _ChecksumMismatch(Exception):
    """The file arrived complete but is not the expected file: try the next mirror, never retry."""


class _Permanent(Exception):
    """An error that retrying the same URL cannot fix (HTTP 4xx, unknown host, missing gdown)."""


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, md5: str | None, sha256: str | None) -> None:
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected:
            found = file_hash(path, algorithm)
            if found != expected.lower():
                raise _ChecksumMismatch(
                    f"{algorithm} checksum mismatch: expected {expected}, got {found}"
                )
            return
    log.info("no checksum is known for %s: accepted without verification", path.name)


def download(
    urls: str | Sequence[str],
    dest: str | os.PathLike,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    retries: int = 2,
    progress: bool = True,
) -> Path:
    """Download ``dest`` from the first of ``urls`` that works and return its path.

    Each URL is tried ``1 + retries`` times (connection drops and truncated transfers are retried;
    a 404 or an unknown host moves straight on to the next mirror). A partial ``dest.part`` left
    by an interrupted run is resumed with an HTTP ``Range`` request when the server allows it.
    The file is checked against ``sha256`` or ``md5`` (whichever is given) before it is renamed
    into place; a file that fails the check is deleted. ``gdrive://<id>`` URLs go through
    torchvision's Google Drive helper (it needs ``pip install gdown``).

    Raises :class:`DataUnavailableError` naming every URL, its failure and the manual fix.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise ValueError("download() needs at least one URL")
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    failures: list[str] = []
    for url in urls:
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(RETRY_WAIT * 2 ** (attempt - 1))
                log.info("retrying %s (attempt %d of %d)", url, attempt + 1, retries + 1)
            try:
                if url.startswith("gdrive://"):
                    _fetch_gdrive(url.removeprefix("gdrive://"), part)
                else:
                    _fetch(url, part, progress=progress)
                _verify(part, md5, sha256)
            except _ChecksumMismatch as err:
                part.unlink(missing_ok=True)
                failures.append(f"{url}: {err}")
                break
            except _Permanent as err:
                failures.append(f"{url}: {err}")
                break
            except (OSError, http.client.HTTPException) as err:
                if attempt == retries:
                    failures.append(f"{url}: {_reason(err)}")
                continue
            os.replace(part, dest)
            log.info("downloaded %s from %s", dest.name, url)
            return dest
        log.info("could not download %s from %s", dest.name, url)
    # A checksum failure deleted its file; a truncated one stays as .part so a later run resumes.
    tried = "\n".join(f"  - {line}" for line in failures)
    raise DataUnavailableError(
        f"could not download {dest.name} ({len(urls)} URLs failed)",
        f"Could not download {dest.name!r}. Tried:\n{tried}\n"
        f"Fix: download the file yourself from one of these URLs and save it as\n  {dest}\n"
        "then run again. Without the real data, source='offline' gives the built-in stand-in.",
    )


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        return f"network error ({err.reason})"
    return f"{type(err).__name__}: {err}"


def _fetch(url: str, part: Path, *, progress: bool) -> None:
    """Stream ``url`` into ``part``, resuming from its current size when the server allows."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # our partial file does not fit the server's: start over
            part.unlink()
            raise OSError("the partial download did not match the server's file") from err
        if 400 <= err.code < 500:
            raise _Permanent(f"HTTP {err.code} {err.reason}") from err
        raise
    except urllib.error.URLError as err:
        if isinstance(err.reason, socket.gaierror):  # unknown host / no network: do not retry
            raise _Permanent(f"network error ({err.reason})") from err
        raise
    with response:
        if have and response.status == 206:
            mode, start = "ab", have
            log.info("resuming %s at byte %d", part.name, have)
        else:  # the server ignored the Range header: download from the start
            mode, start = "wb", 0
        length = response.headers.get("Content-Length")
        expected = start + int(length) if length is not None else None
        received = start
        with open(part, mode) as out, _progress_bar(part, expected, start, progress) as bar:
            while True:
                try:
                    block = response.read(CHUNK)
                except http.client.IncompleteRead as err:
                    out.write(err.partial)
                    received += len(err.partial)
                    block = b""
                if not block:
                    break
                out.write(block)
                received += len(block)
                bar.update(len(block))
    if expected is not None and received != expected:
        raise OSError(f"transfer cut short: got {received:,} of {expected:,} bytes")


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _progress_bar(part: Path, total: int | None, initial: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    name = part.name.removesuffix(".part")
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=name, leave=False)


def _fetch_gdrive(file_id: str, part: Path) -> None:
    """Google Drive through torchvision's helper (official CelebA host; often over its quota)."""
    try:
        from torchvision.datasets.utils import download_file_from_google_drive

        download_file_from_google_drive(file_id, str(part.parent), part.name)
    except RuntimeError as err:  # missing gdown, quota exceeded, ...
        raise _Permanent(f"Google Drive via torchvision: {err}") from err
    if not part.exists():
        raise _Permanent("Google Drive via torchvision: no file was written")


# ----------------------------------------------------------------------------- archives


def _check_member(name: str, target: Path, archive: Path) -> None:
    destination = (target / name).resolve()
    if os.path.isabs(name) or not destination.is_relative_to(target):
        raise UnsafeArchiveError(
            f"Refusing to extract {archive.name}: member {name!r} would be written outside "
            f"{target} (absolute path or '..'). The archive is damaged or malicious; delete it "
            "and download it again from a trusted source."
        )


def extract_archive(archive: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Extract a zip or tar archive into ``target`` safely and return ``target``.

    Every member is checked before anything is written: an absolute path, a ``..`` that climbs
    out of ``target``, or (in a tar) a link or device file raises :class:`UnsafeArchiveError`.
    Extraction goes into a temporary folder that is renamed at the end, so ``target`` appears
    only when it is complete.
    """
    archive, target = Path(archive), Path(target).resolve()
    if target.exists():
        raise FileExistsError(f"{target} already exists: remove it to extract {archive.name} again")
    staging = target.with_name(target.name + ".extracting")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for name in zf.namelist():
                    _check_member(name, staging, archive)
                zf.extractall(staging)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for member in members:
                    _check_member(member.name, staging, archive)
                    if not (member.isfile() or member.isdir()):
                        raise UnsafeArchiveError(
                            f"Refusing to extract {archive.name}: member {member.name!r} is a "
                            "link or special file, which a dataset archive never needs."
                        )
                if hasattr(tarfile, "data_filter"):  # Python >= 3.12 (and recent 3.10/3.11)
                    tf.extractall(staging, members=members, filter="data")
                else:
                    tf.extractall(staging, members=members)
        else:
            raise DataUnavailableError(
                f"{archive} is neither a zip nor a tar archive (a broken download?): "
                "delete it and try again."
            )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.replace(staging, target)
    return target
