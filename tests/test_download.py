"""The download path against a real HTTP server on 127.0.0.1 (never the internet).

The server is started by the tests on an ephemeral port and serves small files built here; routes
can answer normally (with Range support), 404, cut the transfer short, or ignore Range.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import socket
import tarfile
import threading
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
                start = 0
                rng = self.headers.get("Range")
                if mode == "ok" and rng and rng.startswith("bytes="):
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
        )
        for name, body in files.items()
    ]
    monkeypatch.setitem(datasets.REMOTE, "mnist", remote)
    return images, labels


def test_load_mnist_downloads_decodes_and_caches(server, monkeypatch, tmp_path):
    images, labels = _serve_mnist(server, monkeypatch)
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
