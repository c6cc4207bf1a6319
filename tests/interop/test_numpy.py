"""NumPy against a running Downlink: what NumPy writes, Downlink serves back exactly.

Starts the release binary (DOWNLINK_BIN, default target/release/downlink) on a free port over
NumPy-written fixtures, then checks the HTTP contract from a script's side. Every test runs
twice: over a directory, and over the same files uploaded with boto3 to a bucket of a real
S3 server (SeaweedFS, `--data s3://...`).
"""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients"))
sys.path.insert(0, str(Path(__file__).parent))

from bundle import decode_bundle  # noqa: E402
from make_fixtures import fixtures, group, main as make_fixtures  # noqa: E402

FIXTURES = fixtures()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DirFiles:
    """Files of a data directory, changed as another program would change them."""

    def __init__(self, root: Path):
        self.root = root

    def save(self, rel: str, array) -> None:
        """Write `array` as the file `rel`, replacing it by rename."""
        target = self.root / rel
        tmp = target.with_name("." + target.name + ".tmp.npy")
        np.save(tmp, array)
        os.replace(tmp, target)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def seen(self) -> None:
        """Wait until Downlink sees the changes: at once for files."""


class BucketFiles:
    """Objects under a prefix of a bucket, changed with boto3 as the AWS CLI would."""

    def __init__(self, seaweed, prefix: str):
        self.seaweed, self.prefix = seaweed, prefix

    def save(self, rel: str, array) -> None:
        buffer = io.BytesIO()
        np.save(buffer, array)
        self.seaweed.put(f"{self.prefix}/{rel}", buffer.getvalue())

    def remove(self, rel: str) -> None:
        self.seaweed.delete(f"{self.prefix}/{rel}")

    def seen(self) -> None:
        """Downlink checks an object's identity at most once a second (the documented time)."""
        time.sleep(1.2)


@pytest.fixture(scope="module", params=["dir", "s3"])
def server(request, tmp_path_factory):
    """(base URL, the files it serves) over a directory, then over a bucket."""
    data = tmp_path_factory.mktemp("data")
    make_fixtures(data / "fixtures")
    if request.param == "dir":
        files, source, env = DirFiles(data), str(data), {}
    else:
        seaweed = request.getfixturevalue("seaweed")
        prefix = seaweed.new_prefix("numpy")
        seaweed.upload_dir(data, prefix)
        files = BucketFiles(seaweed, prefix)
        source, env = f"s3://{seaweed.bucket}/{prefix}", seaweed.env
    port = free_port()
    binary = os.environ.get("DOWNLINK_BIN", str(REPO / "target/release/downlink"))
    env = dict(os.environ, LEPTOS_SITE_ROOT=str(REPO / "target/site"), RUST_LOG="warn", **env)
    proc = subprocess.Popen([binary, "--data", source, "--addr", f"127.0.0.1:{port}"], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/api/arrays", timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("downlink exited during start-up")
            time.sleep(0.05)
    else:
        raise RuntimeError("downlink did not start")
    yield base, files
    proc.terminate()
    proc.wait(timeout=10)


def get(base, path, headers=None):
    """(status, headers, body) of a GET, errors included."""
    request = urllib.request.Request(base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def load(base, path):
    status, headers, body = get(base, path)
    assert status == 200, (path, status, body[:200])
    assert headers["Content-Type"] == "application/x-npy"
    return np.load(io.BytesIO(body), allow_pickle=False)


def q(**params):
    return "?" + urllib.parse.urlencode(params)


def test_listing_has_every_valid_array_and_nothing_else(server):
    base, _ = server
    status, _, body = get(base, "/api/arrays")
    assert status == 200
    listed = {a["name"]: a for a in json.loads(body)["arrays"]}
    for name, array in FIXTURES.items():
        entry = listed[f"fixtures/{name}"]
        assert entry["shape"] == list(array.shape), name
        assert entry["nbytes"] == array.nbytes, name
        if array.dtype.fields is None:
            assert entry["dtype"] == array.dtype.str, name
        assert entry["etag"].startswith('"'), name
    for member in group():
        assert f"fixtures/run/{member}" in listed
        assert f"fixtures/packed/{member}" in listed
    for skipped in ["fixtures/.hidden", "fixtures/bad name", "fixtures/garbage", "fixtures/truncated"]:
        assert skipped not in listed


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_np_load_reads_back_identical_arrays(server, name):
    base, _ = server
    want = FIXTURES[name]
    got = load(base, f"/api/arrays/fixtures/{name}")
    assert got.dtype == want.dtype and got.dtype.str == want.dtype.str
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_npz_members_and_header_versions(server):
    base, _ = server
    for grp in ["run", "packed"]:
        for member, want in group().items():
            np.testing.assert_array_equal(load(base, f"/api/arrays/fixtures/{grp}/{member}"), want)
    np.testing.assert_array_equal(load(base, "/api/arrays/fixtures/v2"), np.arange(7, dtype="<u4"))
    v3 = load(base, "/api/arrays/fixtures/v3")
    assert v3.dtype.names == ("é",)


SLICES = ["0:10", "5:", ":-3", "::7", "::-1", "-20:-5:3", "100:0:-9", "990:2000", "50:10", ":"]


@pytest.mark.parametrize("spec", SLICES)
def test_slices_match_numpy(server, spec):
    base, _ = server
    parts = [int(p) if p else None for p in spec.split(":")]
    sl = slice(*parts)
    for name in ["ramp", "cube", "matrix_f", "record"]:
        got = load(base, f"/api/arrays/fixtures/{name}" + q(slice=spec))
        np.testing.assert_array_equal(got, FIXTURES[name][sl], err_msg=f"{name}[{spec}]")


def test_dtype_conversion(server):
    base, _ = server
    got = load(base, "/api/arrays/fixtures/big_endian" + q(dtype="<f4"))
    assert got.dtype.str == "<f4"
    np.testing.assert_array_equal(got, FIXTURES["big_endian"].astype("<f4"))
    flipped = load(base, "/api/arrays/fixtures/ramp" + q(dtype=">f8"))
    assert flipped.dtype.str == ">f8"
    np.testing.assert_array_equal(flipped, FIXTURES["ramp"])
    both = load(base, "/api/arrays/fixtures/cube" + q(dtype="<f4", slice="1:3"))
    np.testing.assert_array_equal(both, FIXTURES["cube"][1:3].astype("<f4"))


def test_raw_format(server):
    base, _ = server
    status, headers, body = get(base, "/api/arrays/fixtures/matrix_f" + q(format="raw"))
    assert status == 200
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["X-Array-Dtype"] == "<f4"
    assert headers["X-Array-Shape"] == "3,4"
    got = np.frombuffer(body, headers["X-Array-Dtype"]).reshape(3, 4)
    np.testing.assert_array_equal(got, FIXTURES["matrix_f"])
    status, headers, body = get(base, "/api/arrays/fixtures/scalar" + q(format="raw"))
    assert headers["X-Array-Shape"] == ""
    assert np.frombuffer(body, "<f8")[0] == 3.5


def test_record_dtype_header_reads_back_with_its_exact_field_names(server):
    """X-Array-Dtype is ASCII (Python escapes in the literal), so a client that reads headers
    as ISO-8859-1, as http.client does, recovers a non-ASCII field name exactly."""
    import ast

    base, files = server
    names = ["température", "温度"]
    array = np.zeros(2, dtype=[(names[0], "<f4"), (names[1], "<i2")])
    files.save("unicode_names.npy", array)
    files.seen()
    try:
        status, headers, body = get(base, "/api/arrays/unicode_names" + q(format="raw"))
        assert status == 200
        value = headers["X-Array-Dtype"]
        assert value.isascii(), value
        dtype = np.dtype(ast.literal_eval(value))
        assert dtype == array.dtype and list(dtype.names) == names
        np.testing.assert_array_equal(np.frombuffer(body, dtype), array)
    finally:
        files.remove("unicode_names.npy")


def test_range_returns_exact_bytes_of_the_same_representation(server):
    base, _ = server
    for path in ["/api/arrays/fixtures/ramp", "/api/arrays/fixtures/cube" + q(slice="::-1", dtype="<f4")]:
        status, headers, whole = get(base, path)
        assert status == 200 and headers["Accept-Ranges"] == "bytes"
        n = len(whole)
        for spec, lo, hi in [("0-0", 0, 1), ("10-99", 10, 100), (f"{n - 5}-", n - 5, n), ("-17", n - 17, n), (f"3-{n + 100}", 3, n)]:
            status, headers, part = get(base, path, {"Range": f"bytes={spec}"})
            assert status == 206, spec
            assert part == whole[lo:hi], spec
            assert headers["Content-Range"] == f"bytes {lo}-{hi - 1}/{n}"
        status, headers, body = get(base, path, {"Range": f"bytes={n}-"})
        assert status == 416
        assert headers["Content-Range"] == f"bytes */{n}"
        assert "error" in json.loads(body)


def test_etag_and_304_and_live_replacement(server):
    base, files = server
    path = "/api/arrays/fixtures/live"
    files.save("fixtures/live.npy", np.arange(4, dtype="<i4"))
    files.seen()
    status, headers, _ = get(base, path)
    assert status == 200
    etag = headers["ETag"]
    status, _, body = get(base, path, {"If-None-Match": etag})
    assert status == 304 and body == b""
    listed = {a["name"]: a for a in json.loads(get(base, "/api/arrays")[2])["arrays"]}
    assert listed["fixtures/live"]["etag"] == etag
    # A sliced representation has its own validator.
    assert get(base, path + q(slice="1:"))[1]["ETag"] != etag
    # Replace the file (as a script would: on disk by rename, in a bucket by a PUT): no
    # restart needed.
    files.save("fixtures/live.npy", np.arange(9, dtype="<f8"))
    files.seen()
    status, headers, body = get(base, path, {"If-None-Match": etag})
    assert status == 200 and headers["ETag"] != etag
    np.testing.assert_array_equal(np.load(io.BytesIO(body)), np.arange(9, dtype="<f8"))
    files.remove("fixtures/live.npy")
    files.seen()
    assert get(base, path)[0] == 404


def test_bundle_decodes_with_the_documented_decoder(server):
    base, _ = server
    names = ["fixtures/ramp", "fixtures/big_endian", "fixtures/cube", "fixtures/record", "fixtures/run/b"]
    query = urllib.parse.urlencode([("name", n) for n in names] + [("slice", "1:4")])
    status, headers, body = get(base, "/api/bundle?" + query)
    assert status == 200
    arrays = decode_bundle(body)
    assert list(arrays) == names
    want = {**{f"fixtures/{k}": v for k, v in FIXTURES.items()}, "fixtures/run/b": group()["b"]}
    for name in names:
        np.testing.assert_array_equal(arrays[name], want[name][1:4], err_msg=name)
    head_len = int.from_bytes(body[12:16], "little")
    for entry in json.loads(body[16:16 + head_len])["arrays"]:
        assert entry["offset"] % 64 == 0
    converted = decode_bundle(get(base, "/api/bundle?" + urllib.parse.urlencode([("name", "fixtures/big_endian"), ("dtype", "<f4")]))[2])
    assert converted["fixtures/big_endian"].dtype.str == "<f4"


def test_readme_shows_the_tested_decoder():
    readme = (REPO / "README.md").read_text()
    assert (REPO / "clients" / "bundle.py").read_text().strip() in readme


@pytest.mark.parametrize(
    "path,status",
    [
        ("/api/arrays/fixtures/nope", 404),
        ("/api/arrays/fixtures/garbage", 422),
        ("/api/arrays/fixtures/truncated", 422),
        ("/api/arrays/fixtures/.hidden", 400),
        ("/api/arrays/fixtures/..%2F..%2Fetc%2Fpasswd", 400),
        ("/api/arrays/fixtures/bad%20name", 400),
        ("/api/arrays/fixtures/ramp?slice=1:2:0", 400),
        ("/api/arrays/fixtures/ramp?slice=abc", 400),
        ("/api/arrays/fixtures/ramp?dtype=%3Cx9", 400),
        ("/api/arrays/fixtures/ramp?dtype=O", 400),
        ("/api/arrays/fixtures/ramp?format=csv", 400),
        ("/api/arrays/fixtures/ramp?colour=red", 400),
        ("/api/arrays/fixtures/record?dtype=%3Cf4", 400),
        ("/api/arrays/fixtures/scalar?slice=0:1", 400),
        ("/api/bundle", 400),
        ("/api/bundle?name=fixtures/ramp&name=fixtures/nope", 404),
        ("/api/nothing-here", 404),
    ],
)
def test_errors_are_json_with_the_contract_status(server, path, status):
    base, _ = server
    got, headers, body = get(base, path)
    assert got == status, (path, body[:200])
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["error"]
