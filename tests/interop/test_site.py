"""The site as a deployed app serves it, against the release binary: wasm, JS and CSS under
hashed names, precompressed and negotiated by Accept-Encoding, cached as immutable; the
pages link the hashed names; `--version`."""

import gzip
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from server import Server  # noqa: E402

PKG = REPO / "target" / "site" / "pkg"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "seed").mkdir()  # not empty: no demo data set
    running = Server(data)
    yield running
    running.stop()


def fetch(url, encoding=None, headers=None):
    request = urllib.request.Request(url, headers=dict(headers or {}))
    if encoding:
        request.add_header("Accept-Encoding", encoding)
    with urllib.request.urlopen(request, timeout=30) as r:
        return r.status, r.headers, r.read()  # case-insensitive (hyper sends lower case)


def hashes() -> dict:
    """This build's content hashes, as cargo-leptos wrote them beside the binary."""
    text = (REPO / "target/release/hash.txt").read_text()
    return dict(line.split(": ") for line in text.splitlines() if line)


def assets():
    """This build's JS, wasm and CSS (earlier builds' files may sit beside them)."""
    return [f"downlink.{hash}.{kind}" for kind, hash in sorted(hashes().items())]


def wait_for_compressed(name):
    for _ in range(600):
        if (PKG / f"{name}.br").exists() and (PKG / f"{name}.gz").exists():
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} was not precompressed within 60 s")


def test_assets_are_served_compressed_as_the_client_asks(server):
    for name in assets():
        wait_for_compressed(name)
        url = f"{server.base}/pkg/{name}"
        _, plain_headers, plain = fetch(url)
        assert "Content-Encoding" not in plain_headers, name
        assert plain == (PKG / name).read_bytes()

        _, headers, body = fetch(url, "gzip")
        assert headers.get("Content-Encoding") == "gzip", name
        assert gzip.decompress(body) == plain

        _, headers, body = fetch(url, "br, gzip, deflate")
        assert headers.get("Content-Encoding") == "br", name
        assert len(body) < len(plain) * 0.6, f"{name}: {len(body)} of {len(plain)} bytes"
        assert (PKG / f"{name}.br").read_bytes() == body
        assert headers.get("Cache-Control") == "public, max-age=31536000, immutable"
        assert "accept-encoding" in headers.get("Vary", "").lower()


def test_pages_link_the_hashed_names(server):
    _, _, page = fetch(f"{server.base}/")
    for kind, hash in hashes().items():
        name = f"downlink.{hash}.{kind}"
        assert (PKG / name).exists(), name
        assert f"/pkg/{name}".encode() in page, f"the page does not link {name}"


def test_unhashed_files_are_revalidated(server, tmp_path):
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "plain.js").write_text("console.log(1);\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "seed").mkdir()
    running = Server(tmp_path / "data", env={"LEPTOS_SITE_ROOT": str(site)})
    try:
        _, headers, _ = fetch(f"{running.base}/pkg/plain.js")
        assert headers.get("Cache-Control") == "no-cache"
    finally:
        running.stop()


def test_unchanged_assets_revalidate_with_304(server):
    name = next(n for n in assets() if n.endswith(".wasm"))
    _, headers, _ = fetch(f"{server.base}/pkg/{name}", "br")
    since = headers["Last-Modified"]
    request = urllib.request.Request(f"{server.base}/pkg/{name}", headers={"If-Modified-Since": since})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 304


def test_a_stale_compressed_file_is_never_served(tmp_path):
    """A new build leaves last build's .br behind: the server must not answer with it."""
    site = tmp_path / "site"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg" / "app.js").write_text("console.log('new build');\n" * 200)
    old = site / "pkg" / "app.js.br"
    old.write_bytes(b"last build's bytes")
    past = time.time() - 3600
    os.utime(old, (past, past))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "seed").mkdir()
    running = Server(tmp_path / "data", env={"LEPTOS_SITE_ROOT": str(site)})
    try:
        _, headers, body = fetch(f"{running.base}/pkg/app.js", "br")
        assert body != b"last build's bytes"
    finally:
        running.stop()


def test_version():
    binary = os.environ.get("DOWNLINK_BIN", str(REPO / "target/release/downlink"))
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    version = next(line.split('"')[1] for line in (REPO / "Cargo.toml").read_text().splitlines()
                   if line.startswith("version = "))
    assert out.stdout.strip() == f"downlink {version}"
