"""Tiles behind a caching proxy: Debian's nginx with `proxy_cache` keeps `/api/tiles` answers
(versioned URLs, `Cache-Control: public, max-age=31536000, immutable`) and serves repeated
views without the server; `/api/lod` answers (`no-cache`) it always passes on."""

import io
import urllib.error
import urllib.request

import numpy as np
import pytest

from proxy import CachingProxy
from server import Server

START = np.datetime64("2026-03-14T09:00:00", "ns")


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers, response.read()


def version(base: str, name: str) -> str:
    import json

    listing = json.loads(get(base + "/api/arrays")[2])
    return next(a["etag"] for a in listing["arrays"] if a["name"] == name).strip('"')


def put(base: str, name: str, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    request = urllib.request.Request(f"{base}/api/arrays/{name}", data=buf.getvalue(), method="PUT",
                                     headers={"Content-Type": "application/x-npy"})
    urllib.request.urlopen(request, timeout=30).read()


@pytest.fixture
def behind_nginx(tmp_path):
    # Two passes of int16 ADC counts at 1 kHz, an hour apart.
    t = np.concatenate([START + np.arange(50_000) * 1_000_000,
                        START + np.timedelta64(1, "h") + np.arange(50_000) * 1_000_000])
    (tmp_path / "adc").mkdir()
    np.save(tmp_path / "adc" / "t.npy", t)
    rng = np.random.default_rng(3)
    np.save(tmp_path / "adc" / "x.npy", rng.integers(-2048, 2048, 100_000).astype(">i2"))
    server = Server(tmp_path)
    proxy = CachingProxy(server.port)
    yield server, proxy
    proxy.stop()
    server.stop()


def tile_path(base: str, level: int = 20) -> str:
    v, tv = version(base, "adc/x"), version(base, "adc/t")
    tile = int(START.astype(np.int64)) // (1024 << level)
    return f"/api/tiles/adc/x?v={v}&level={level}&tile={tile}&by=time&time=adc/t&tv={tv}"


def test_a_caching_proxy_serves_repeated_tiles_and_passes_windows_on(behind_nginx):
    server, proxy = behind_nginx
    path = tile_path(server.base)
    status, first, body = get(proxy.base + path)
    assert status == 200
    assert first["X-Cache-Status"] == "MISS"
    assert first["Cache-Control"] == "public, max-age=31536000, immutable"
    _, again, cached = get(proxy.base + path)
    assert again["X-Cache-Status"] == "HIT"
    _, direct, straight = get(server.base + path)
    assert cached == body == straight
    assert again["ETag"] == direct["ETag"]

    # A window of /api/lod may change under its URL: the proxy asks the server each time.
    window = "/api/lod/adc/x?bins=1000"
    statuses = [get(proxy.base + window)[1]["X-Cache-Status"] for _ in range(3)]
    assert "HIT" not in statuses, statuses


def test_a_new_version_gets_new_urls_and_the_old_ones_answer_410(behind_nginx):
    server, proxy = behind_nginx
    old = tile_path(server.base)
    _, _, before = get(proxy.base + old)
    put(proxy.base, "adc/x", np.zeros(100_000, dtype="<i2"))
    with pytest.raises(urllib.error.HTTPError) as gone:
        get(server.base + old)
    assert gone.value.code == 410
    assert gone.value.headers["Cache-Control"] == "no-store"
    assert "has changed" in gone.value.read().decode()

    new = tile_path(server.base)
    assert new != old
    _, first, after = get(proxy.base + new)
    assert first["X-Cache-Status"] == "MISS"
    assert after != before
    assert get(proxy.base + new)[1]["X-Cache-Status"] == "HIT"
