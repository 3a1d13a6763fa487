"""The download path against a real HTTP server on 127.0.0.1 (never the internet).

The server is started by the tests on an ephemeral port and serves small files built here, in the
real formats; routes can answer normally (with Range support), 404, cut the transfer short, ignore
Range, or answer late. Google Drive is a fake ``gdown`` module (gdown need not be installed).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import logging
import socket
import sys
import tarfile
import threading
import time
import types
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch
from PIL import Image

from ganlib.data import DataUnavailableError, datasets, download, load
from ganlib.data.download import UnsafeArchiveError, extract_archive

PAYLOAD = bytes(range(256)) * 400  # 100 KiB, several read chunks


class Server:
    """A tiny file server: ``routes[path] = (mode, body)``; remembers every request."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.sent = 0  # body bytes written
        self.delay = 0.0  # seconds a "slow" route waits before answering
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("Range")))
                mode, body = server.routes.get(self.path, ("404", b""))
                if mode == "404":
                    self.send_error(404)
                    return
                if mode == "slow":
                    time.sleep(server.delay)
                start = 0
                rng = self.headers.get("Range")
                if mode in ("ok", "slow") and rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                if start:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                chunk = body[start:] if mode != "truncate" else body[: len(body) // 2]
                # Counted before writing: the client may have read it all (and the test may be
                # asserting) before write() returns in this thread.
                server.sent += len(chunk)
                self.wfile.write(chunk)
                if mode == "truncate":  # claim the full length, then hang up
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, body: bytes, mode: str = "ok") -> str:
        self.routes[path] = (mode, body)
        return self.url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GANLIB_OFFLINE", raising=False)
    monkeypatch.setattr(download, "RETRY_WAIT", 0.0)
    monkeypatch.setattr(download, "TIMEOUT", 5.0)


def dead_url(path: str = "/file") -> str:
    """A URL on a port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- download()


def test_download_success_verifies_sha256_and_leaves_no_part_file(server, tmp_path):
    url = server.add("/data.bin", PAYLOAD)
    dest = tmp_path / "d" / "data.bin"
    assert download.download(url, dest, sha256=sha(PAYLOAD)) == dest
    assert dest.read_bytes() == PAYLOAD
    # no .part left; the checksum just computed is remembered, so the file is not hashed again
    assert sorted(p.name for p in dest.parent.iterdir()) == ["data.bin", "data.bin.verified"]


def test_download_accepts_md5(server, tmp_path):
    url = server.add("/data.bin", PAYLOAD)
    dest = download.download(
        [url], tmp_path / "data.bin", md5=hashlib.md5(PAYLOAD).hexdigest(), progress=False
    )
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    url = server.add("/data.bin", PAYLOAD)
    dest = tmp_path / "d" / "data.bin"
    with pytest.raises(DataUnavailableError) as err:
        download.download(url, dest, sha256="0" * 64)
    assert "checksum mismatch" in str(err.value) and url in str(err.value)
    assert list(dest.parent.iterdir()) == []
    assert len(server.requests) == 1  # a wrong file is not fetched again from the same URL


def test_truncated_transfer_is_retried_then_reported(server, tmp_path):
    url = server.add("/cut.bin", PAYLOAD, mode="truncate")
    dest = tmp_path / "cut.bin"
    with pytest.raises(DataUnavailableError) as err:
        download.download(url, dest, sha256=sha(PAYLOAD), retries=2)
    assert "cut short" in str(err.value)
    assert not dest.exists()
    assert len(server.requests) == 3  # first try + 2 retries
    assert server.requests[1][1] == f"bytes={len(PAYLOAD) // 2}-"  # the retry tried to resume


def test_404_moves_on_to_the_next_mirror(server, tmp_path):
    missing = server.url + "/missing.bin"
    good = server.add("/good.bin", PAYLOAD)
    dest = download.download([missing, good], tmp_path / "f.bin", sha256=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert [path for path, _ in server.requests] == ["/missing.bin", "/good.bin"]  # no 404 retry


def test_no_server_gives_a_clear_error_with_the_manual_fix(tmp_path):
    url = dead_url("/train.gz")
    dest = tmp_path / "mnist" / "train.gz"
    with pytest.raises(DataUnavailableError) as err:
        download.download(url, dest, retries=1)
    message = str(err.value)
    assert url in message and "network error" in message
    assert str(dest) in message and "Fix:" in message
    assert isinstance(err.value, RuntimeError)


def test_resume_with_range(server, tmp_path):
    url = server.add("/big.bin", PAYLOAD)
    dest = tmp_path / "big.bin"
    half = len(PAYLOAD) // 3
    (tmp_path / "big.bin.part").write_bytes(PAYLOAD[:half])  # an interrupted earlier run
    download.download(url, dest, sha256=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == [("/big.bin", f"bytes={half}-")]
    assert server.sent == len(PAYLOAD) - half  # only the missing part travelled


def test_server_without_range_support_restarts_from_scratch(server, tmp_path):
    url = server.add("/norange.bin", PAYLOAD, mode="norange")
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes")
    dest = download.download(url, tmp_path / "f.bin", sha256=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


# ----------------------------------------------------------------------------- archives


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buffer.getvalue()


def test_extract_archive_extracts_a_normal_zip(tmp_path):
    archive = tmp_path / "ok.zip"
    archive.write_bytes(_zip({"top/a.txt": b"a", "top/sub/b.txt": b"b"}))
    target = extract_archive(archive, tmp_path / "out")
    assert (target / "top" / "sub" / "b.txt").read_bytes() == b"b"


@pytest.mark.parametrize("evil", ["../escaped.txt", "top/../../escaped.txt", "/tmp/ganlib_abs.txt"])
def test_zip_slip_is_refused_and_nothing_is_written(tmp_path, evil):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip({"top/fine.txt": b"ok", evil: b"pwned"}))
    with pytest.raises(UnsafeArchiveError, match="outside"):
        extract_archive(archive, tmp_path / "work" / "out")
    assert not (tmp_path / "work" / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "work" / "out").exists()
    assert list((tmp_path / "work").iterdir()) == []  # the staging folder is gone too


def test_tar_with_parent_path_or_link_is_refused(tmp_path):
    for name, kind in [("../up.txt", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)]:
        archive = tmp_path / f"evil_{kind!r}.tar"
        with tarfile.open(archive, "w") as tf:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
            info.size = 0
            tf.addfile(info, io.BytesIO(b""))
        with pytest.raises(UnsafeArchiveError):
            extract_archive(archive, tmp_path / "out")
        assert not (tmp_path / "up.txt").exists() and not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- load() end to end


def _idx(images: np.ndarray | None, labels: np.ndarray | None) -> bytes:
    if images is not None:
        n, h, w = images.shape
        header = b"".join(x.to_bytes(4, "big") for x in (2051, n, h, w))
        return gzip.compress(header + images.tobytes())
    header = b"".join(x.to_bytes(4, "big") for x in (2049, len(labels)))
    return gzip.compress(header + labels.astype(np.uint8).tobytes())


def _serve_mnist(server, monkeypatch, n: int = 20):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n)
    files = {
        "train-images-idx3-ubyte.gz": _idx(images, None),
        "train-labels-idx1-ubyte.gz": _idx(None, labels),
    }
    remote = [
        datasets.RemoteFile(
            name,
            (server.add("/" + name, body),),
            md5=hashlib.md5(body).hexdigest(),
            splits=("train",),
            size=len(body),
        )
        for name, body in files.items()
    ]
    monkeypatch.setitem(datasets.REMOTE, "mnist", remote)
    return images, labels, files


def test_load_mnist_downloads_decodes_and_caches(server, monkeypatch, tmp_path):
    images, labels, _ = _serve_mnist(server, monkeypatch)
    first = load("mnist", source="download")
    assert first.source == "download" and "real" in first.description
    assert torch.equal(first.images[:, 0], torch.from_numpy(images))
    assert first.labels.tolist() == labels.tolist()
    cache_file = tmp_path / "cache" / "mnist" / "train_28.pt"
    assert set(torch.load(cache_file, weights_only=True)) == {"images", "labels"}
    requests = len(server.requests)
    again = load("mnist")  # auto: from the cache, no network
    assert again.source == "cache" and len(server.requests) == requests
    assert torch.equal(again.images, first.images)


def test_auto_falls_back_to_the_stand_in_when_nothing_answers(monkeypatch, caplog):
    dead = [datasets.RemoteFile(f.name, (dead_url("/" + f.name),), md5=f.md5, splits=f.splits)
            for f in datasets.REMOTE["mnist"]]  # fmt: skip
    monkeypatch.setitem(datasets.REMOTE, "mnist", dead)
    with caplog.at_level(logging.WARNING, logger="ganlib.data"):
        mnist = load("mnist")
    assert mnist.source == "stand-in" and "STAND-IN" in mnist.description
    assert "STAND-IN" in caplog.text
    with pytest.raises(DataUnavailableError, match="127.0.0.1"):
        load("mnist", source="download")


def test_checksum_failure_through_load_falls_back_and_caches_nothing(server, monkeypatch, tmp_path):
    _serve_mnist(server, monkeypatch)
    broken = [
        datasets.RemoteFile(f.name, f.urls, md5="0" * 32, splits=f.splits)
        for f in datasets.REMOTE["mnist"]
    ]
    monkeypatch.setitem(datasets.REMOTE, "mnist", broken)
    assert load("mnist").source == "stand-in"
    assert (
        not (tmp_path / "cache" / "mnist").exists()
        or list((tmp_path / "cache" / "mnist").iterdir()) == []
    )


def test_offline_env_skips_the_network(server, monkeypatch):
    _serve_mnist(server, monkeypatch)
    monkeypatch.setenv("GANLIB_OFFLINE", "1")
    assert load("mnist").source == "stand-in"
    assert server.requests == []


def test_load_svhn_maps_label_10_to_0(server, monkeypatch):
    from scipy.io import savemat

    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (32, 32, 3, 6), dtype=np.uint8)
    buffer = io.BytesIO()
    savemat(buffer, {"X": x, "y": np.array([[10], [1], [2], [10], [9], [5]])})
    body = buffer.getvalue()
    remote = [
        datasets.RemoteFile(
            "test_32x32.mat", (server.add("/svhn.mat", body),), sha256=sha(body), splits=("test",)
        )
    ]
    monkeypatch.setitem(datasets.REMOTE, "svhn", remote)
    svhn = load("svhn", split="test", source="download")
    assert svhn.images.shape == (6, 3, 32, 32)
    assert svhn.labels.tolist() == [0, 1, 2, 0, 9, 5]
    assert torch.equal(svhn.images[2], torch.from_numpy(x[..., 2]).permute(2, 0, 1))


def _jpeg(colour, size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_load_summer2winter_from_the_cyclegan_zip(server, monkeypatch):
    members = {}
    for split in ("train", "test"):
        members.update(
            {f"summer2winter_yosemite/{split}A/{i}.jpg": _jpeg((40, 160, 40)) for i in range(3)}
        )
        members.update(
            {f"summer2winter_yosemite/{split}B/{i}.jpg": _jpeg((230, 230, 240)) for i in range(2)}
        )
    body = _zip(members)
    url = server.add("/summer2winter_yosemite.zip", body)
    remote = [datasets.RemoteFile("summer2winter_yosemite.zip", (url,), sha256=sha(body))]
    monkeypatch.setitem(datasets.REMOTE, "summer2winter", remote)
    summer, winter = load("summer2winter", image_size=16, source="download")
    assert summer.images.shape == (3, 3, 16, 16) and winter.images.shape == (2, 3, 16, 16)
    assert summer.images[:, 1].float().mean() > 140 and winter.images.float().mean() > 200
    test_summer, _ = load("summer2winter", split="test", image_size=16, source="download")
    assert test_summer.source == "cache"  # the extracted archive is reused, no second download
    assert len(server.requests) == 1


def test_load_celeba_from_the_zip_uses_the_official_split(server, monkeypatch):
    names = ["000001", "000002", "162770", "170000", "182638"]
    body = _zip({f"img_align_celeba/{n}.jpg": _jpeg((200, 150, 120), (178, 218)) for n in names})
    url = server.add("/img_align_celeba.zip", body)
    monkeypatch.setitem(
        datasets.REMOTE,
        "celeba",
        [datasets.RemoteFile("img_align_celeba.zip", (url,), sha256=sha(body))],
    )
    train = load("celeba", image_size=32, source="download")
    test = load("celeba", split="test", image_size=32, source="download")
    assert train.images.shape == (3, 3, 32, 32) and test.images.shape == (1, 3, 32, 32)
    assert train.labels is None and train[0][1] == -1
    assert abs(train.images[:, 0].float().mean().item() - 200) < 6


# ----------------------------------------------------------------------------- robustness (issue 16)


def _serve_celeba(server, monkeypatch, members: dict[str, bytes], *urls: str, mode="ok") -> bytes:
    """Serve a CelebA zip of ``members`` (``mode``: see Server); the mirrors are the server, then
    ``urls`` (gdrive://...)."""
    body = _zip(members)
    url = server.add("/img_align_celeba.zip", body, mode=mode)
    remote = [datasets.RemoteFile("img_align_celeba.zip", (url, *urls), sha256=sha(body))]
    monkeypatch.setitem(datasets.REMOTE, "celeba", remote)
    return body


FACES = {f"img_align_celeba/{n:06d}.jpg": _jpeg((200, 150, 120), (178, 218)) for n in (1, 2, 3)}


class FileURLRetrievalError(Exception):
    """What gdown raises when Drive refuses (quota, permissions); gdown >= 5 derives it from
    ``DownloadError``."""


class DownloadError(Exception):
    pass


def fake_gdown(monkeypatch, behave) -> list[str]:
    """Install a fake ``gdown`` whose ``download(id=, output=, quiet=)`` calls ``behave(output)``;
    returns the list of the outputs it was asked to write."""
    calls: list[str] = []

    def download_(url=None, output=None, quiet=False, id=None, **kwargs):
        calls.append(output)
        return behave(output)

    monkeypatch.setitem(sys.modules, "gdown", types.SimpleNamespace(download=download_))
    return calls


def _raise(err: Exception):
    def behave(output):
        raise err

    return behave


@pytest.mark.parametrize(
    "err",
    [
        FileURLRetrievalError("Failed to retrieve file url:\n\n\tToo many users have viewed or "
                              "downloaded this file recently."),
        DownloadError("Cannot retrieve the public link of the file."),
    ],
)  # fmt: skip
def test_google_drive_errors_never_escape_load(server, monkeypatch, err):
    _serve_celeba(server, monkeypatch, FACES, "gdrive://FILE_ID", mode="404")
    calls = fake_gdown(monkeypatch, _raise(err))
    faces = load("celeba", image_size=16)  # auto: the stand-in, with the one-line reason
    assert faces.source == "stand-in" and len(calls) == 1
    assert "could not download img_align_celeba.zip" in faces.description
    with pytest.raises(DataUnavailableError) as raised:
        load("celeba", image_size=16, source="download")
    message = str(raised.value)
    assert type(err).__name__ in message and str(err).split()[-1] in message
    assert "https://drive.google.com/uc?id=FILE_ID" in message and "Fix:" in message


def test_google_drive_quota_page_and_missing_gdown_say_what_happened(server, monkeypatch, tmp_path):
    _serve_celeba(server, monkeypatch, FACES, "gdrive://FILE_ID", mode="404")

    def quota_page(output):  # old gdown versions saved Drive's HTML page as the file
        with open(output, "wb") as f:
            f.write(b"<!DOCTYPE html><html><title>Google Drive - Quota exceeded</title></html>")
        return output

    fake_gdown(monkeypatch, quota_page)
    with pytest.raises(DataUnavailableError, match="web page instead of the file"):
        load("celeba", image_size=16, source="download")
    monkeypatch.setitem(sys.modules, "gdown", None)  # not installed
    with pytest.raises(DataUnavailableError) as raised:
        load("celeba", image_size=16, source="download")
    assert "pip install gdown" in str(raised.value)
    assert "https://drive.google.com/uc?id=FILE_ID (Google Drive)" in str(raised.value)
    assert not list((tmp_path / "cache" / "celeba").glob("*.gdrive.part"))


def test_google_drive_leaves_the_partial_download_of_another_mirror_alone(
    server, monkeypatch, tmp_path
):
    body = _serve_celeba(server, monkeypatch, FACES, "gdrive://FILE_ID", mode="truncate")
    part = tmp_path / "cache" / "celeba" / "img_align_celeba.zip.part"
    fake_gdown(monkeypatch, _raise(FileURLRetrievalError("quota exceeded")))
    with pytest.raises(DataUnavailableError) as raised:
        load("celeba", image_size=16, source="download")
    assert "checksum" not in str(raised.value)  # Drive did not judge the other mirror's part
    assert part.read_bytes() == body[: len(body) // 2]  # kept, for the next run to resume

    def drive(output):
        with open(output, "wb") as f:
            f.write(body)
        return output

    calls = fake_gdown(monkeypatch, drive)
    faces = load("celeba", image_size=16, source="download")
    assert faces.source == "download" and len(faces) == 3 and len(calls) == 1
    assert calls[0] != str(part) and not part.exists()  # its own file; the stale part is gone
    assert not list(part.parent.glob("*.part"))


def test_a_stale_part_that_fails_the_checksum_is_fetched_again_from_zero(server, monkeypatch):
    from scipy.io import savemat

    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (32, 32, 3, 4), dtype=np.uint8)
    buffer = io.BytesIO()
    savemat(buffer, {"X": x, "y": np.array([[1], [2], [3], [10]])})
    body = buffer.getvalue()
    url = server.add("/test_32x32.mat", body)  # SVHN: a single mirror
    remote = [datasets.RemoteFile("test_32x32.mat", (url,), sha256=sha(body), splits=("test",))]
    monkeypatch.setitem(datasets.REMOTE, "svhn", remote)
    part = datasets.data_dir() / "svhn" / "test_32x32.mat.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\0" * (len(body) // 2))  # an old run's bytes of another file
    svhn = load("svhn", split="test", source="download")
    assert svhn.labels.tolist() == [1, 2, 3, 0] and not part.exists()
    assert server.requests == [("/test_32x32.mat", f"bytes={len(body) // 2}-"),
                               ("/test_32x32.mat", None)]  # fmt: skip


@pytest.mark.parametrize("damage", ["truncated", "same size, other bytes"])
def test_a_damaged_raw_file_in_the_cache_is_downloaded_again(server, monkeypatch, damage):
    images, _, files = _serve_mnist(server, monkeypatch)
    folder = datasets.data_dir() / "mnist"
    folder.mkdir(parents=True)
    good = files["train-images-idx3-ubyte.gz"]
    bad = good[: len(good) // 2] if damage == "truncated" else bytes(len(good))
    (folder / "train-images-idx3-ubyte.gz").write_bytes(bad)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(files["train-labels-idx1-ubyte.gz"])
    mnist = load("mnist")  # auto: before, the damaged file sent it to the stand-in for good
    assert mnist.source == "download" and torch.equal(mnist.images[:, 0], torch.from_numpy(images))
    resumed = f"bytes={len(good) // 2}-" if damage == "truncated" else None  # a short file resumes
    assert server.requests == [("/train-images-idx3-ubyte.gz", resumed)]  # the labels were fine


def test_cached_raw_files_are_hashed_once_and_a_change_is_noticed(server, monkeypatch):
    _serve_mnist(server, monkeypatch)
    load("mnist", source="download")
    folder = datasets.data_dir() / "mnist"
    assert (folder / "train-images-idx3-ubyte.gz.verified").exists()
    hashed = []
    real_hash = download.file_hash
    monkeypatch.setattr(
        download, "file_hash", lambda p, a="sha256": hashed.append(p) or real_hash(p, a)
    )
    (folder / "train_28.pt").unlink()  # decode again from the raw files
    assert load("mnist").source == "cache" and hashed == [] and len(server.requests) == 2
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(bytes(images.stat().st_size))  # same size, other bytes
    (folder / "train_28.pt").unlink()
    assert load("mnist").source == "download" and len(hashed) == 2  # noticed, and fetched again
    assert server.requests[-1] == ("/train-images-idx3-ubyte.gz", None)


@contextlib.contextmanager
def silent_host():
    """A URL whose host never accepts the connection (a full listen queue), like a dead mirror."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        held = [socket.create_connection(address, timeout=1)]  # fills the queue
        try:
            probe = socket.socket()
            held.append(probe)
            probe.settimeout(0.2)
            probe.connect(address)
            pytest.skip("this system accepts a connection beyond a full listen queue")
        except TimeoutError:
            yield f"http://{address[0]}:{address[1]}/file.bin"
        finally:
            for sock in held:
                sock.close()


def test_a_host_that_does_not_answer_costs_the_connect_timeout_once(monkeypatch, tmp_path):
    monkeypatch.setattr(download, "TIMEOUT", 30.0)  # the read timeout must not apply here
    monkeypatch.setattr(download, "CONNECT_TIMEOUT", 0.3)
    with silent_host() as url:
        start = time.monotonic()
        with pytest.raises(DataUnavailableError, match=r"did not answer within 0\.3 s"):
            download.download(url, tmp_path / "file.bin", retries=2)
        assert time.monotonic() - start < 10  # one try of 0.3 s, not 3 x 30 s


def test_the_read_timeout_is_separate_from_the_connect_timeout(server, monkeypatch, tmp_path):
    url = server.add("/late.bin", PAYLOAD, mode="slow")
    server.delay = 0.6  # connects at once, answers after 0.6 s
    monkeypatch.setattr(download, "CONNECT_TIMEOUT", 0.2)
    monkeypatch.setattr(download, "TIMEOUT", 5.0)
    assert download.download(url, tmp_path / "a.bin", sha256=sha(PAYLOAD)).read_bytes() == PAYLOAD
    monkeypatch.setattr(download, "TIMEOUT", 0.2)  # now reading times out, after connecting
    with pytest.raises(DataUnavailableError, match="timed out"):
        download.download(url, tmp_path / "b.bin", sha256=sha(PAYLOAD), retries=0)


def test_zips_with_extra_members_are_read_without_them(server, monkeypatch):
    junk = {"__MACOSX/img_align_celeba/._000001.jpg": b"\0\5\26\7 AppleDouble",
            "img_align_celeba/.DS_Store": b"\0\0\0\1Bud1", "img_align_celeba/README.txt": b"hi",
            "img_align_celeba/000002 (copy).jpg": _jpeg((0, 0, 255), (178, 218))}  # fmt: skip
    _serve_celeba(server, monkeypatch, {**FACES, **junk})
    faces = load("celeba", image_size=16, source="download")
    assert len(faces) == 3 and faces.images[:, 2].float().mean() < 160  # no blue copy

    members = {f"summer2winter_yosemite/{split}{d}/{i}.jpg": _jpeg(colour)
               for split in ("train", "test") for d, colour in (("A", (40, 160, 40)), ("B", (240,) * 3))
               for i in range(2)}  # fmt: skip
    members.update({"summer2winter_yosemite/trainA/._0.jpg": b"\0\5\26\7 AppleDouble",
                    "__MACOSX/summer2winter_yosemite/trainA/._1.jpg": b"\0\5\26\7",
                    "summer2winter_yosemite/.DS_Store": b"\0\0\0\1Bud1"})  # fmt: skip
    body = _zip(members)
    url = server.add("/summer2winter_yosemite.zip", body)
    remote = [datasets.RemoteFile("summer2winter_yosemite.zip", (url,), sha256=sha(body))]
    monkeypatch.setitem(datasets.REMOTE, "summer2winter", remote)
    summer, winter = load("summer2winter", image_size=16, source="download")
    assert len(summer) == 2 and len(winter) == 2
