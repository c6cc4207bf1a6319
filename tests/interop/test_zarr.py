"""Zarr v3 both ways, against the release binary, with zarr-python from PyPI.

1. Stores written by zarr-python in the data directory are listed and read back exactly
   through the read contract (whole, sliced, bundled, charted), for every codec the README
   names; a corrupt chunk or an unsupported codec answers 422 and breaks nothing else.
2. Every array (an .npy, an .npz member, a Zarr array) read by zarr-python from /zarr/
   over HTTP equals np.load of the same array.

Every test runs twice: over a directory, and over the same stores uploaded with boto3 to a
bucket of a real S3 server (SeaweedFS, `--data s3://...`).
"""

import io
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
from zarr.codecs import (  # noqa: E402
    BloscCodec,
    BytesCodec,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from make_fixtures import fixtures, group  # noqa: E402
from make_fixtures import main as write_fixtures  # noqa: E402
from server import Server  # noqa: E402

N = 20_000
T0 = np.datetime64("2026-03-01T00:00:00", "ns")


def telemetry():
    """A pass of telemetry: timestamps with a gap, a float32 channel and int16 counts."""
    i = np.arange(N, dtype=np.int64)
    t = T0 + (i * 100_000_000 + (i >= N // 2) * 3_600_000_000_000).astype("m8[ns]")
    x = np.sin(i / 50.0).astype("<f4")
    adc = ((i * 37) % 4096 - 2048).astype("<i2")
    return t, x, adc


def stores():
    """Name -> (array, create_array keyword arguments) of the Zarr arrays written."""
    rng = np.random.default_rng(3)
    cols = rng.standard_normal((3000, 4)).astype("<f8")
    return {
        "blosc": (np.arange(5000, dtype="<i4") * 3, {"chunks": (700,), "compressors": [BloscCodec(cname="lz4")]}),
        "gzip": (np.linspace(0, 1, 4000), {"chunks": (512,), "compressors": [GzipCodec(level=5)]}),
        "crc": (np.arange(3000, dtype="<u2"), {"chunks": (1000,), "compressors": [ZstdCodec(), Crc32cCodec()]}),
        "cols": (cols, {"chunks": (700, 3)}),
        "transposed": (cols[:100], {"chunks": (30, 4), "filters": [TransposeCodec(order=(1, 0))]}),
        "bigend": (np.arange(1000, dtype=">f4"), {"chunks": (300,), "serializer": BytesCodec(endian="big")}),
        "sharded": (
            np.arange(10_000, dtype="<f4"),
            {"shards": (4000,), "chunks": (500,)},
        ),
        "flags": (np.arange(100) % 3 == 0, {"chunks": (32,)}),
        "scalar": (np.array(2.5), {}),
    }


@pytest.fixture(scope="module", params=["dir", "s3"])
def server(request, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    write_fixtures(data / "fixtures")
    t, x, adc = telemetry()
    # A group as zarr-python writes it by default (bytes + zstd).
    run = zarr.open_group(data / "run7.zarr", mode="w")
    run.create_array("t", data=t, chunks=(3000,))
    run.create_array("x", data=x, chunks=(3000,))
    run.create_array("adc", data=adc, chunks=(3000,))
    run.create_group("sub").create_array("y", data=x[:100] * 2, chunks=(64,))
    for name, (array, options) in stores().items():
        z = zarr.create_array(data / f"codecs/{name}.zarr", shape=array.shape, dtype=array.dtype, **options)
        z[...] = array
    # One chunk of an otherwise good array overwritten with garbage.
    bad = zarr.create_array(data / "broken.zarr", shape=(3000,), dtype="<f4", chunks=(1000,))
    bad[:] = np.arange(3000, dtype="<f4")
    (data / "broken.zarr" / "c" / "1").write_bytes(b"not a zstd frame at all")
    # A codec nobody implements.
    odd = zarr.create_array(data / "odd.zarr", shape=(10,), dtype="<f4", chunks=(10,))
    odd[:] = 1
    meta = (data / "odd.zarr" / "zarr.json").read_text()
    (data / "odd.zarr" / "zarr.json").write_text(meta.replace('"zstd"', '"no.such.codec"'))
    if request.param == "dir":
        running = Server(data)
        running.publish = lambda rel: None
    else:
        seaweed = request.getfixturevalue("seaweed")
        prefix = seaweed.new_prefix("zarr")
        seaweed.upload_dir(data, prefix)
        running = Server(f"s3://{seaweed.bucket}/{prefix}", env=seaweed.env)
        # What changed on disk, uploaded again (as `aws s3 sync` would).
        running.publish = lambda rel: seaweed.upload_dir(data / rel, f"{prefix}/{rel}")
    running.data_dir = data
    yield running
    running.stop()


def fetch(server, path, headers=None):
    request = urllib.request.Request(server.base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def load(server, name, query=""):
    status, _, body = fetch(server, f"/api/arrays/{name}{query}")
    assert status == 200, (name, status, body[:300])
    return np.load(io.BytesIO(body))


# 1. Zarr stores in the data directory.


def test_zarr_arrays_are_listed_with_their_dtype_and_shape(server):
    status, _, body = fetch(server, "/api/arrays")
    import json

    listed = {a["name"]: a for a in json.loads(body)["arrays"]}
    t, x, adc = telemetry()
    assert listed["run7/t"]["shape"] == [N] and listed["run7/t"]["dtype"] == "<M8[ns]"
    assert listed["run7/x"]["dtype"] == "<f4"
    assert listed["run7/adc"]["dtype"] == "<i2"
    assert listed["run7/sub/y"]["shape"] == [100]
    for name, (array, _) in stores().items():
        assert listed[f"codecs/{name}"]["shape"] == list(array.shape), name
    assert "odd" not in listed and "broken" in listed


def test_zarr_python_arrays_read_back_exactly(server):
    t, x, adc = telemetry()
    for name, want in [("run7/t", t), ("run7/x", x), ("run7/adc", adc), ("run7/sub/y", x[:100] * 2)]:
        got = load(server, name)
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    for name, (want, _) in stores().items():
        got = load(server, f"codecs/{name}")
        assert got.dtype == want.dtype.newbyteorder("=") or got.dtype == want.dtype, name
        assert got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_slices_raw_conversion_and_bundles_of_zarr_arrays(server):
    t, x, adc = telemetry()
    np.testing.assert_array_equal(load(server, "run7/x", "?slice=12345:17000:7"), x[12345:17000:7])
    np.testing.assert_array_equal(load(server, "run7/adc", "?dtype=%3Cf4&slice=-10:"), adc[-10:].astype("<f4"))
    cols = stores()["cols"][0]
    np.testing.assert_array_equal(load(server, "codecs/cols", "?slice=650:1450"), cols[650:1450])
    status, headers, body = fetch(server, "/api/arrays/run7/x?format=raw&slice=100:200")
    assert status == 200 and headers["X-Array-Dtype"] == "<f4"
    np.testing.assert_array_equal(np.frombuffer(body, "<f4"), x[100:200])
    # Range and ETag work as on any array.
    status, headers, body = fetch(server, "/api/arrays/run7/x?format=raw", {"Range": "bytes=40-47"})
    assert status == 206 and np.frombuffer(body, "<f4").tolist() == x[10:12].tolist()
    etag = headers["ETag"]
    status, _, _ = fetch(server, "/api/arrays/run7/x?format=raw", {"If-None-Match": etag})
    assert status == 304


def test_zarr_series_chart_on_its_time_axis(server, downlink):
    client = downlink.Client(server.base)
    t, x, _ = telemetry()
    both = client.get_many(["run7/t", "run7/x"])
    np.testing.assert_array_equal(both["run7/x"], x)
    lod = client.lod("run7/x", bins=100)
    values = np.asarray(lod.value)
    assert np.nanmin(values) == pytest.approx(x.min()) and np.nanmax(values) == pytest.approx(x.max())
    assert lod.time is not None  # charted on its own timestamps, run7/t
    # The instants window picks the second pass only (after the hour's gap).
    second = t[N // 2]
    lod = client.lod("run7/x", t0=second, t1=t[-1] + np.timedelta64(1, "s"), bins=50)
    assert np.nanmax(np.asarray(lod.value)) == pytest.approx(x[N // 2 :].max())
    times = np.asarray(lod.time)
    assert times[~np.isnat(times)].min() >= second


def test_a_corrupt_chunk_answers_422_and_the_rest_still_reads(server):
    status, _, body = fetch(server, "/api/arrays/broken?slice=1500:1600")
    assert status == 422, body
    assert b"cannot be decoded" in body
    # A slice that reads only good chunks works: only the chunks it needs are decoded.
    np.testing.assert_array_equal(load(server, "broken", "?slice=0:1000"), np.arange(1000, dtype="<f4"))
    np.testing.assert_array_equal(load(server, "broken", "?slice=2000:"), np.arange(2000, 3000, dtype="<f4"))
    assert fetch(server, "/api/arrays/broken")[0] == 422
    # The server is still up and serving everything else.
    assert fetch(server, "/api/arrays/run7/x")[0] == 200


def test_an_unsupported_codec_answers_422_with_the_codec_named(server):
    status, _, body = fetch(server, "/api/arrays/odd")
    assert status == 422
    assert b"no.such.codec" in body


def test_zarr_stores_are_read_only(server):
    for method in ["PUT", "DELETE"]:
        request = urllib.request.Request(
            server.base + "/api/arrays/run7/x", data=b"" if method == "PUT" else None, method=method
        )
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("accepted")
        except urllib.error.HTTPError as err:
            assert err.code == 405, (method, err.code)
            assert b"read-only" in err.read()


def test_a_rewritten_store_is_seen(server):
    path = server.data_dir / "live.zarr"
    z = zarr.create_array(path, shape=(100,), dtype="<f8", chunks=(10,))
    z[:] = np.arange(100)
    server.publish("live.zarr")
    np.testing.assert_array_equal(load(server, "live"), np.arange(100))
    z[:] = -np.arange(100)
    server.publish("live.zarr")
    import time

    time.sleep(1.2)  # a store is rechecked at most once a second
    np.testing.assert_array_equal(load(server, "live"), -np.arange(100))


# 2. Every array as a Zarr store over HTTP.


def every_array():
    """Name -> array of what /zarr/ serves: .npy fixtures, .npz members, Zarr arrays."""
    skip = {"names", "tags", "record"}  # no Zarr v3 data type (strings, records)
    out = {f"fixtures/{n}": a for n, a in fixtures().items() if n not in skip}
    out.update({f"fixtures/run/{n}": a for n, a in group().items()})
    out.update({f"fixtures/packed/{n}": a for n, a in group().items()})
    t, x, adc = telemetry()
    out.update({"run7/t": t, "run7/x": x, "run7/adc": adc})
    out.update({f"codecs/{n}": a for n, (a, _) in stores().items()})
    return out


def test_zarr_python_reads_every_array_over_http_as_np_load_does(server):
    for name, want in every_array().items():
        z = zarr.open_array(f"{server.base}/zarr/{name}", mode="r")
        assert z.shape == want.shape, name
        got = z[...]
        served = load(server, name)
        assert got.dtype.newbyteorder("=") == served.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(got, served, err_msg=name)
        np.testing.assert_array_equal(got, want, err_msg=name)


def test_partial_reads_over_http(server):
    t, x, _ = telemetry()
    z = zarr.open_array(f"{server.base}/zarr/run7/x", mode="r")
    np.testing.assert_array_equal(z[12_345:12_400], x[12_345:12_400])
    big = zarr.open_array(f"{server.base}/zarr/fixtures/cube", mode="r")
    np.testing.assert_array_equal(big[1:3, :, 1], fixtures()["cube"][1:3, :, 1])
    f = zarr.open_array(f"{server.base}/zarr/fixtures/matrix_f", mode="r")
    np.testing.assert_array_equal(f[:, 2:], fixtures()["matrix_f"][:, 2:])


def test_chunks_are_slices_with_etags_and_ranges(server):
    import json

    status, headers, body = fetch(server, "/zarr/fixtures/ramp/zarr.json")
    assert status == 200 and headers["Content-Type"] == "application/json"
    meta = json.loads(body)
    assert meta["data_type"] == "float64" and meta["codecs"] == [{"name": "bytes", "configuration": {"endian": "little"}}]
    status, headers, body = fetch(server, "/zarr/fixtures/ramp/c/0")
    assert status == 200 and np.frombuffer(body, "<f8").tolist() == list(range(1000))
    status, _, _ = fetch(server, "/zarr/fixtures/ramp/c/0", {"If-None-Match": headers["ETag"]})
    assert status == 304
    status, _, body = fetch(server, "/zarr/fixtures/ramp/c/0", {"Range": "bytes=8-15"})
    assert status == 206 and np.frombuffer(body, "<f8").tolist() == [1.0]
    assert fetch(server, "/zarr/fixtures/ramp/c/1")[0] == 404
    assert fetch(server, "/zarr/no/such/zarr.json")[0] == 404
    big = json.loads(fetch(server, "/zarr/fixtures/big_endian/zarr.json")[2])
    assert big["codecs"][0]["configuration"]["endian"] == "big"


def test_groups_have_consolidated_metadata(server):
    g = zarr.open_group(f"{server.base}/zarr/fixtures", mode="r")
    names = {name for name, _ in g.members(max_depth=None)}
    assert {"ramp", "run", "run/a", "nested/deep/leaf"} <= names
    np.testing.assert_array_equal(g["run"]["a"][...], group()["a"])
    root = zarr.open_group(f"{server.base}/zarr", mode="r")
    assert "run7" in {name for name, _ in root.members()}
