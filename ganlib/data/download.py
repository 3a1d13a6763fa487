"""Download files safely: mirrors, retries, resume, checksums, and safe archive extraction.

Only the standard library talks to the network (``urllib``), so nothing extra is installed; Google
Drive (``gdrive://<id>``, CelebA's official host) goes through ``gdown`` when it is installed.

* A download is written to ``<file>.part`` and renamed to its final name only once it is complete
  and its checksum matches, so a cache never holds half a file under a real name. An interrupted
  download is resumed (HTTP ``Range``); if the resumed file fails its checksum, the stale part was
  to blame and the file is fetched once more from the start. Google Drive writes to its own
  ``<file>.gdrive.part``, so it never spoils the part that the other mirrors resume.
* A file already in the cache is checked before use (size, then checksum, once: the verdict is
  kept in ``<file>.verified``); a truncated or wrong file is downloaded again.
* A host that does not answer costs ``CONNECT_TIMEOUT`` seconds (and is not retried); a transfer
  that stalls, ``TIMEOUT`` seconds.
* Whatever goes wrong with a mirror (including gdown's errors and Google Drive's quota pages) only
  moves on to the next one; when every mirror fails, :class:`DataUnavailableError` says which URLs
  were tried, why each failed, and where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import json
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
#: Seconds a server has to accept the connection: what a dead mirror costs (it is not retried).
CONNECT_TIMEOUT = 5.0
#: Seconds without any data, once connected, before a connection counts as dead.
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
    """The file arrived complete but is not the expected file."""


class _Permanent(Exception):
    """An error that retrying the same URL cannot fix (HTTP 4xx, unknown or silent host)."""


class _MirrorFailed(Exception):
    """This URL cannot give the file (after any retries); the message says why."""


class _ConnectTimeout(OSError):
    """The host did not accept the connection within ``CONNECT_TIMEOUT``."""


# ----------------------------------------------------------------------------- checksums


def file_hash(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _expected(md5: str | None, sha256: str | None) -> tuple[str, str] | None:
    """The checksum to check, ``(algorithm, hex digest)``: SHA-256 if known, else MD5, else None."""
    if sha256:
        return "sha256", sha256.lower()
    return ("md5", md5.lower()) if md5 else None


def _verify(path: Path, md5: str | None, sha256: str | None) -> tuple[str, str] | None:
    """Raise :class:`_ChecksumMismatch` unless ``path`` has the expected checksum; return it."""
    check = _expected(md5, sha256)
    if check is None:
        log.info("no checksum is known for %s: accepted without verification", path.name)
        return None
    algorithm, expected = check
    found = file_hash(path, algorithm)
    if found != expected:
        raise _ChecksumMismatch(f"{algorithm} checksum mismatch: expected {expected}, got {found}")
    return check


def _part(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _remember(path: Path, check: tuple[str, str] | None) -> None:
    """Write ``<path>.verified``: this file, as it is now, has the checksum ``check``."""
    if check is not None:
        algorithm, digest = check
        _sidecar(path).write_text(json.dumps({**_stamp(path), algorithm: digest}))


def verify_cached(
    path: str | os.PathLike, *, md5: str | None = None, sha256: str | None = None,
    size: int | None = None,
) -> bool:  # fmt: skip
    """Whether ``path`` holds the expected file: its size, then its checksum.

    The checksum is computed once: the verdict is kept in ``<path>.verified`` for as long as the
    file keeps its size and modification time. A file that does not match is logged and moved out
    of the way, so that it is downloaded again: a file that is too short becomes ``<path>.part``,
    which the download resumes; any other is deleted.
    """
    path = Path(path)
    if not path.is_file():
        return False
    have = path.stat().st_size
    check = _expected(md5, sha256)
    if size is not None and have != size:
        problem = f"{have:,} bytes instead of {size:,}"
    elif check is None:
        return True
    else:
        try:
            known = json.loads(_sidecar(path).read_text())
        except (OSError, ValueError):
            known = {}
        if known == {**_stamp(path), check[0]: check[1]}:
            return True
        found = file_hash(path, check[0])
        if found == check[1]:
            _remember(path, check)
            return True
        problem = f"{check[0]} {found} instead of {check[1]}"
    _sidecar(path).unlink(missing_ok=True)
    if size is not None and have < size:
        os.replace(path, _part(path))
        action = "the download resumes from it"
    else:
        path.unlink()
        action = "it is downloaded again"
    log.warning("%s is damaged or not the expected file (%s): %s", path, problem, action)
    return False


# ----------------------------------------------------------------------------- download


def download(
    urls: str | Sequence[str],
    dest: str | os.PathLike,
    *,
    md5: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
    retries: int = 2,
    progress: bool = True,
) -> Path:
    """Download ``dest`` from the first of ``urls`` that works and return its path.

    A ``dest`` already there is checked first (:func:`verify_cached`) and kept if it is right.
    Each URL is tried ``1 + retries`` times (connection drops and truncated transfers are retried;
    a 404, an unknown host or one that does not answer within ``CONNECT_TIMEOUT`` moves straight on
    to the next mirror). A partial ``dest.part`` left by an interrupted run is resumed with an HTTP
    ``Range`` request when the server allows it. The file is checked against ``sha256`` or ``md5``
    (whichever is given) before it is renamed into place; a file that fails the check is deleted
    (a resumed one is fetched once more from the start). ``gdrive://<id>`` URLs go through
    ``gdown`` (``pip install gdown``).

    Raises :class:`DataUnavailableError` naming every URL, its failure and the manual fix.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise ValueError("download() needs at least one URL")
    dest = Path(dest)
    if verify_cached(dest, md5=md5, sha256=sha256, size=size):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for url in urls:
        try:
            if url.startswith("gdrive://"):
                _from_gdrive(url.removeprefix("gdrive://"), dest, md5, sha256, progress)
            else:
                _from_url(url, dest, md5, sha256, retries, progress)
        except _MirrorFailed as err:
            failures.append(f"{_readable(url)}: {err}")
            log.info("could not download %s from %s", dest.name, url)
            continue
        log.info("downloaded %s from %s", dest.name, url)
        return dest
    # A checksum failure deleted its file; a truncated one stays as .part so a later run resumes.
    tried = "\n".join(f"  - {line}" for line in failures)
    raise DataUnavailableError(
        f"could not download {dest.name} ({len(urls)} URLs failed)",
        f"Could not download {dest.name!r}. Tried:\n{tried}\n"
        f"Fix: download the file yourself from one of these URLs and save it as\n  {dest}\n"
        "then run again. Without the real data, source='offline' gives the built-in stand-in.",
    )


def _readable(url: str) -> str:
    """A URL a person can open in a browser (``gdrive://<id>`` is ours)."""
    if url.startswith("gdrive://"):
        return f"https://drive.google.com/uc?id={url.removeprefix('gdrive://')} (Google Drive)"
    return url


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        return f"network error ({err.reason})"
    return f"{type(err).__name__}: {err}"


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}"


def _from_url(url: str, dest: Path, md5, sha256, retries: int, progress: bool) -> None:
    """Fetch ``url`` into ``dest.part`` (resuming it), verify it, rename it to ``dest``."""
    part = _part(dest)
    attempt, restarted = 0, False
    while True:
        resumed = False
        try:
            resumed = _fetch(url, part, progress=progress)
            check = _verify(part, md5, sha256)
        except _ChecksumMismatch as err:
            part.unlink(missing_ok=True)
            if resumed and not restarted:  # the old partial file was wrong, maybe not the mirror
                restarted = True
                log.warning("%s: the resumed download failed its checksum; downloading it "
                            "again from the start", dest.name)  # fmt: skip
                continue
            raise _MirrorFailed(str(err)) from None
        except _Permanent as err:
            raise _MirrorFailed(str(err)) from None
        except (OSError, http.client.HTTPException) as err:
            if attempt == retries:
                raise _MirrorFailed(_reason(err)) from None
            attempt += 1
            time.sleep(RETRY_WAIT * 2 ** (attempt - 1))
            log.info("retrying %s (attempt %d of %d)", url, attempt + 1, retries + 1)
            continue
        except Exception as err:  # noqa: BLE001 - a mirror's failure must never end the download
            raise _MirrorFailed(_one_line(err)) from None
        os.replace(part, dest)
        _remember(dest, check)
        return


def _connect(address: tuple[str, int], timeout: float, source_address=None) -> socket.socket:
    """Open a socket within ``CONNECT_TIMEOUT``, then give it the read ``timeout``."""
    try:
        sock = socket.create_connection(address, CONNECT_TIMEOUT, source_address)
    except TimeoutError as err:
        raise _ConnectTimeout(
            f"{address[0]}:{address[1]} did not answer within {CONNECT_TIMEOUT:g} s"
        ) from err
    sock.settimeout(timeout)
    return sock


class _ConnectTimeoutHandler:
    """urllib's HTTP(S) handler whose connections connect with the short ``CONNECT_TIMEOUT``
    (urllib's one ``timeout`` covers both connecting and reading)."""

    def do_open(self, http_class, req, **kwargs):
        def connection(host, **options):
            conn = http_class(host, **options)
            conn._create_connection = _connect  # http.client's hook to open the socket
            return conn

        return super().do_open(connection, req, **kwargs)


class _HTTPHandler(_ConnectTimeoutHandler, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_ConnectTimeoutHandler, urllib.request.HTTPSHandler):
    pass


_OPENER = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler)


def _fetch(url: str, part: Path, *, progress: bool) -> bool:
    """Stream ``url`` into ``part``, resuming from its current size when the server allows;
    return whether it resumed."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = _OPENER.open(request, timeout=TIMEOUT)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # our partial file does not fit the server's: start over
            part.unlink()
            raise OSError("the partial download did not match the server's file") from err
        if 400 <= err.code < 500:
            raise _Permanent(f"HTTP {err.code} {err.reason}") from err
        raise
    except urllib.error.URLError as err:
        # unknown host, no network, or a host that does not answer: retrying will not help
        if isinstance(err.reason, (socket.gaierror, _ConnectTimeout)):
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
    return start > 0


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


def _from_gdrive(file_id: str, dest: Path, md5, sha256, progress: bool) -> None:
    """Google Drive through gdown (CelebA's official host; often over its download quota).

    gdown writes to ``dest.gdrive.part``, never to the ``.part`` another mirror may resume.
    Every failure (gdown missing, its ``FileURLRetrievalError``/``DownloadError``, a quota web
    page saved instead of the file, a wrong checksum) becomes :class:`_MirrorFailed`.
    """
    part = dest.with_name(dest.name + ".gdrive.part")
    part.unlink(missing_ok=True)
    try:
        import gdown
    except ImportError:
        raise _MirrorFailed("Google Drive needs gdown: pip install gdown") from None
    try:
        written = gdown.download(id=file_id, output=str(part), quiet=not progress)
        if not written or not part.is_file():
            raise _MirrorFailed("Google Drive (gdown) wrote no file (download quota exceeded?)")
        with open(part, "rb") as f:
            start = f.read(512).lstrip().lower()
        if start.startswith((b"<!doctype html", b"<html")):
            raise _MirrorFailed(
                "Google Drive sent a web page instead of the file (usually: its download quota "
                "is exceeded; try again in a day)"
            )
        check = _verify(part, md5, sha256)
    except _MirrorFailed:
        part.unlink(missing_ok=True)
        raise
    except _ChecksumMismatch as err:
        part.unlink(missing_ok=True)
        raise _MirrorFailed(f"Google Drive: {err}") from None
    except Exception as err:  # noqa: BLE001 - gdown's own errors, network errors...
        part.unlink(missing_ok=True)
        raise _MirrorFailed(f"Google Drive (gdown): {_one_line(err)}") from None
    os.replace(part, dest)
    _remember(dest, check)
    _part(dest).unlink(missing_ok=True)  # the other mirrors' partial file is no longer needed


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
