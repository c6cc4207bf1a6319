"""Downlink over a bucket of a real S3 server (SeaweedFS), against the release binary:
writes stored as plain `.npy` objects any S3 client reads, big bodies in parts, POST refused
with its reason, and two replicas on one bucket (same bytes and ETags, a 304 from one held
by the other, one's PUT seen by the other within the documented second, a replica killed in
the middle of a PUT leaving the old version readable). The read contract itself runs over a
bucket in test_numpy.py.
"""

import io
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from server import Server  # noqa: E402

NPY = {"Content-Type": "application/x-npy"}


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def npy_bytes(array) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def load(body: bytes):
    return np.load(io.BytesIO(body), allow_pickle=False)


@pytest.fixture
def bucket(seaweed):
    """A fresh prefix with one array in it, and the s3:// URL of it."""
    prefix = seaweed.new_prefix("s3")
    seaweed.put(f"{prefix}/seed/x.npy", npy_bytes(np.arange(3)))
    return prefix, f"s3://{seaweed.bucket}/{prefix}"


def replica(seaweed, url, log=None):
    env = dict(seaweed.env, RUST_LOG="warn,downlink::server::levels=debug") if log else seaweed.env
    return Server(url, env=env, log=log)


def test_writes_are_plain_npy_objects_and_post_says_why_not(seaweed, bucket):
    prefix, url = bucket
    server = replica(seaweed, url)
    try:
        base = f"{server.base}/api/arrays"
        array = np.arange(12, dtype=">i2").reshape(4, 3)
        status, _, body = request("PUT", f"{base}/new/a", npy_bytes(array), NPY)
        assert status == 201, body
        # What any S3 client (boto3, the AWS CLI) gets is the .npy NumPy wrote.
        got = load(seaweed.get(f"{prefix}/new/a.npy"))
        assert got.dtype.str == ">i2"
        np.testing.assert_array_equal(got, array)
        np.testing.assert_array_equal(load(request("GET", f"{base}/new/a")[2]), array)
        assert request("PUT", f"{base}/new/a", npy_bytes(array[:1]), NPY)[0] == 200

        status, _, body = request("POST", f"{base}/new/a", npy_bytes(array[:1]), NPY)
        assert status == 405
        assert "object store" in json.loads(body)["error"]
        np.testing.assert_array_equal(load(request("GET", f"{base}/new/a")[2]), array[:1])

        assert request("PUT", f"{base}/new/a", b"\x93NUMPY garbage", NPY)[0] in (400, 422)
        np.testing.assert_array_equal(load(seaweed.get(f"{prefix}/new/a.npy")), array[:1])

        assert request("DELETE", f"{base}/new/a")[0] == 204
        assert not seaweed.exists(f"{prefix}/new/a.npy")
        assert request("GET", f"{base}/new/a")[0] == 404
    finally:
        server.stop()


def test_a_big_array_goes_up_in_parts_and_streams_back_exactly(seaweed, bucket):
    _, url = bucket
    server = replica(seaweed, url)
    try:
        # 80 MB: above the multipart threshold (32 MiB), in 8 MiB parts.
        array = np.arange(10_000_000, dtype="<f8")
        status, _, body = request("PUT", f"{server.base}/api/arrays/big", npy_bytes(array), NPY)
        assert status == 201, body
        status, headers, body = request("GET", f"{server.base}/api/arrays/big")
        assert status == 200
        np.testing.assert_array_equal(load(body), array)
        status, headers, body = request(
            "GET", f"{server.base}/api/arrays/big?format=raw", headers={"Range": "bytes=40000000-40000015"}
        )
        assert status == 206
        np.testing.assert_array_equal(np.frombuffer(body, "<f8"), [5_000_000, 5_000_001])
        # A conversion and a strided slice read the blocks they need.
        status, _, body = request("GET", f"{server.base}/api/arrays/big?slice=::2500000&dtype=%3Cf4")
        assert status == 200
        np.testing.assert_array_equal(load(body), np.arange(0, 10_000_000, 2_500_000, dtype="<f4"))
    finally:
        server.stop()


def test_two_replicas_answer_alike_and_see_each_others_writes(seaweed, bucket):
    _, url = bucket
    a, b = replica(seaweed, url), replica(seaweed, url)
    try:
        x = np.sin(np.arange(200_000) / 50.0).astype("<f4")
        assert request("PUT", f"{a.base}/api/arrays/shared", npy_bytes(x), NPY)[0] == 201
        time.sleep(1.2)
        for path in ["/api/arrays/shared", "/api/arrays/shared?slice=10:20&dtype=%3Cf8",
                     "/api/lod/shared?start=0&stop=200000&bins=500"]:
            sa, ha, body_a = request("GET", a.base + path)
            sb, hb, body_b = request("GET", b.base + path)
            assert sa == sb == 200, (path, body_a[:200], body_b[:200])
            assert ha["ETag"] == hb["ETag"], path
            assert body_a == body_b, path
            # A validator one replica gave holds at the other.
            assert request("GET", b.base + path, headers={"If-None-Match": ha["ETag"]})[0] == 304, path

        # B sees A's PUT within the documented second.
        y = np.arange(5, dtype="<i8")
        old = request("GET", f"{b.base}/api/arrays/shared")[1]["ETag"]
        assert request("PUT", f"{a.base}/api/arrays/shared", npy_bytes(y), NPY)[0] == 200
        time.sleep(1.1)
        status, headers, body = request("GET", f"{b.base}/api/arrays/shared", headers={"If-None-Match": old})
        assert status == 200 and headers["ETag"] != old
        np.testing.assert_array_equal(load(body), y)
        # A clock set on A is B's too (kept in the bucket), within the same second.
        clock = json.dumps({"rate_hz": 25600, "start": "2026-03-14T09:00:00Z"}).encode()
        json_type = {"Content-Type": "application/json"}
        assert request("PUT", f"{a.base}/api/clock/shared", clock, json_type)[0] == 200
        time.sleep(1.1)
        status, _, body = request("GET", f"{b.base}/api/clock/shared")
        assert status == 200 and json.loads(body)["rate_hz"] == 25600.0
        # And its DELETE, which takes the clock with it.
        assert request("DELETE", f"{a.base}/api/arrays/shared")[0] == 204
        time.sleep(1.1)
        assert request("GET", f"{b.base}/api/arrays/shared")[0] == 404
        assert not seaweed.exists(f"{bucket[0]}/.downlink/clock/shared.json")
    finally:
        a.stop()
        b.stop()


def test_a_pyramid_built_by_one_replica_is_fetched_not_rebuilt_by_another(seaweed, bucket, tmp_path):
    prefix, url = bucket
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    a = replica(seaweed, url, log_a)
    try:
        x = np.cumsum(np.random.default_rng(1).standard_normal(300_000)).astype("<f4")
        assert request("PUT", f"{a.base}/api/arrays/walk", npy_bytes(x), NPY)[0] == 201
        first = request("GET", f"{a.base}/api/lod/walk?bins=400")
        assert first[0] == 200
        # A builds the pyramid and the moment tree and shares them, content-addressed.
        deadline = time.monotonic() + 60
        shared = []
        while len(shared) < 2:
            assert time.monotonic() < deadline, "the pyramid was never shared"
            listed = seaweed.client.list_objects_v2(Bucket=seaweed.bucket, Prefix=f"{prefix}/.downlink/lod/")
            shared = [o["Key"] for o in listed.get("Contents", [])]
            time.sleep(0.1)
        assert sorted(k.rsplit(".", 1)[1] for k in shared) == ["mom", "pyr"]
        assert "built a LOD pyramid" in log_a.read_text()
        # Hidden: never listed as an array.
        names = [e["name"] for e in json.loads(request("GET", f"{a.base}/api/arrays")[2])["arrays"]]
        assert names == ["seed/x", "walk"]
        window = "/api/lod/walk?start=1000&stop=299000&bins=300"
        from_a = request("GET", a.base + window)
    finally:
        a.stop()
    b = replica(seaweed, url, log_b)
    try:
        status, headers, body = request("GET", f"{b.base}/api/lod/walk?bins=400")
        assert status == 200 and headers["ETag"] == first[1]["ETag"] and body == first[2]
        deadline = time.monotonic() + 60
        while "indexed" not in log_b.read_text():
            assert time.monotonic() < deadline, "B never indexed the array"
            time.sleep(0.1)
        text = log_b.read_text()
        assert "built a LOD pyramid" not in text and "built a moment tree" not in text, text
        # Answers from the fetched pyramid are A's, to the byte.
        from_b = request("GET", b.base + window)
        assert from_b[0] == 200 and from_b[2] == from_a[2] and from_b[1]["ETag"] == from_a[1]["ETag"]
    finally:
        b.stop()


def test_a_replica_killed_mid_put_leaves_the_old_version_for_the_others(seaweed, bucket):
    prefix, url = bucket
    a, b = replica(seaweed, url), replica(seaweed, url)
    try:
        previous = np.arange(1000, dtype="<f8")
        assert request("PUT", f"{a.base}/api/arrays/crash", npy_bytes(previous), NPY)[0] == 201
        # 320 MB: A receives it whole, then uploads it in parts; it is killed while the
        # multipart upload is open.
        big = npy_bytes(np.ones(40_000_000, "<f8"))
        def put_big():
            try:
                request("PUT", f"{a.base}/api/arrays/crash", big, NPY)
            except OSError:
                pass  # A is killed before it answers.

        sent = threading.Thread(target=put_big, daemon=True)
        sent.start()
        deadline = time.monotonic() + 120
        key = f"{prefix}/crash.npy"
        while not any(u["Key"] == key for u in seaweed.client.list_multipart_uploads(Bucket=seaweed.bucket).get("Uploads", [])):
            assert time.monotonic() < deadline, "the multipart upload never started"
            time.sleep(0.02)
        a.kill()
        sent.join(timeout=30)
        time.sleep(1.1)
        status, _, body = request("GET", f"{b.base}/api/arrays/crash")
        assert status == 200
        np.testing.assert_array_equal(load(body), previous)
        np.testing.assert_array_equal(load(seaweed.get(key)), previous)
    finally:
        a.stop()
        b.stop()
