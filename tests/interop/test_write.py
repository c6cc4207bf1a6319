"""The write path from a script's side, against the release binary: the README examples, torn
reads under concurrent replacement, concurrent appends, and a SIGKILL in the middle of an upload.
"""

import http.client
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "clients"))

from example_write import example, npy_bytes  # noqa: E402
from server import Server  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "seed").mkdir()
    np.save(data / "seed" / "x.npy", np.arange(3))
    running = Server(data)
    yield running
    running.stop()


def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_readme_shows_the_tested_examples():
    readme = (REPO / "README.md").read_text()
    for example_file in ["example_write.py", "example_curl.sh", "example_fetch.mjs"]:
        assert (REPO / "clients" / example_file).read_text().strip() in readme, example_file


def test_python_example_uploads_appends_and_reads_back(server):
    got = example(server.base)
    want = np.concatenate([np.zeros((3, 2)), np.ones((2, 2)), np.full((1, 2), 7)]).astype("<f4")
    assert got.dtype.str == "<f4"
    np.testing.assert_array_equal(got, want)


def test_curl_example(server, tmp_path):
    out = subprocess.run(
        ["bash", str(REPO / "clients" / "example_curl.sh")],
        cwd=tmp_path, env=dict(os.environ, BASE=server.base), capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip().endswith("204")
    np.testing.assert_array_equal(np.load(tmp_path / "ramp.npy"), np.arange(6, dtype="<f8"))
    assert request("GET", f"{server.base}/api/arrays/scripts/ramp")[0] == 404


def test_javascript_fetch_example(server):
    script = (
        f"import {{ example }} from '{REPO / 'clients' / 'example_fetch.mjs'}';"
        f"const r = await example('{server.base}');"
        "console.log(JSON.stringify({ status: r.status, n: r.values.length, v: Array.from(r.values.slice(0, 3)) }));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["status"] in (200, 201)
    assert result["n"] == 1000
    np.testing.assert_allclose(result["v"], np.sin(np.arange(3) / 50).astype("<f4"), rtol=1e-6)
    stored = np.load(io.BytesIO(request("GET", f"{server.base}/api/arrays/scripts/wave")[1]))
    assert stored.dtype.str == "<f4" and stored.shape == (1000,)


def test_javascript_bundle_put_example(server):
    script = (
        f"import {{ exampleMany }} from '{REPO / 'clients' / 'example_fetch.mjs'}';"
        f"console.log(JSON.stringify(await exampleMany('{server.base}')));"
    )
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result == {"status": 200, "stored": ["scripts/pair/t", "scripts/pair/x"]}
    t = np.load(io.BytesIO(request("GET", f"{server.base}/api/arrays/scripts/pair/t")[1]))
    x = np.load(io.BytesIO(request("GET", f"{server.base}/api/arrays/scripts/pair/x")[1]))
    assert t.dtype.str == "<i8" and t[1] - t[0] == 20_000_000
    np.testing.assert_allclose(x, np.cos(np.arange(1000) / 50).astype("<f4"), rtol=1e-6)


def test_no_torn_reads_while_four_writers_replace_an_array(server):
    url = f"{server.base}/api/arrays/torn/target"
    n = 250_000
    assert request("PUT", url, npy_bytes(np.zeros(n, "<f4")), {"Content-Type": "application/x-npy"})[0] in (200, 201)
    stop = time.monotonic() + 10
    problems, reads, writes = [], [0], [0]
    lock = threading.Lock()

    def writer(k):
        round_ = 0
        while time.monotonic() < stop:
            value = k * 1000 + round_
            size = n + k * 17 + round_ % 5  # every version has its own length too
            status, body = request("PUT", url, npy_bytes(np.full(size, value, "<f4")), {"Content-Type": "application/x-npy"})
            with lock:
                writes[0] += 1
                if status not in (200, 201):
                    problems.append(f"write {status} {body[:100]!r}")
            round_ += 1

    def reader():
        while time.monotonic() < stop:
            status, body = request("GET", url)
            with lock:
                reads[0] += 1
            if status != 200:
                problems.append(f"read {status}")
                continue
            a = np.load(io.BytesIO(body))
            if a.min() != a.max():
                problems.append(f"mixed array: {a.min()}..{a.max()}")
            elif a[0] != 0:
                k, round_ = divmod(int(a[0]), 1000)
                if len(a) != n + k * 17 + round_ % 5:
                    problems.append(f"length {len(a)} does not match value {a[0]}")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(1, 5)]
    threads += [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert problems == [], problems[:5]
    assert reads[0] > 50 and writes[0] > 20, (reads, writes)


def test_concurrent_appends_all_land_untorn(server):
    url = f"{server.base}/api/arrays/appends/log"
    clients, rounds, rows = 6, 30, 7

    def client(c):
        for r in range(rounds):
            ids = np.array([[c, r, i] for i in range(rows)], dtype="<i8")
            status, body = request("POST", url, npy_bytes(ids), {"Content-Type": "application/x-npy"})
            assert status in (200, 201), body

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = np.load(io.BytesIO(request("GET", url)[1]))
    assert log.shape == (clients * rounds * rows, 3)
    # Every batch is contiguous and complete, in some order.
    batches = log.reshape(clients * rounds, rows, 3)
    assert (batches[:, :, 2] == np.arange(rows)).all()
    assert (batches[:, :, :2] == batches[:, :1, :2]).all()
    assert len({(c, r) for c, r in batches[:, 0, :2]}) == clients * rounds


def test_events_follow_writes(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/api/events")
    events = conn.getresponse()
    assert events.getheader("Content-Type") == "text/event-stream"
    started = time.monotonic()
    request("PUT", f"{server.base}/api/arrays/events/a", npy_bytes(np.arange(5, dtype="<u2")), {"Content-Type": "application/x-npy"})
    lines = []
    while not any(line.startswith("data:") for line in lines):
        line = events.readline().decode().strip()
        if line:
            lines.append(line)
    assert time.monotonic() - started < 1.0
    assert "event: changed" in lines
    data = json.loads(next(line for line in lines if line.startswith("data:"))[5:])
    assert data["name"] == "events/a" and data["dtype"] == "<u2" and data["shape"] == [5]
    conn.close()


def test_sigkill_mid_upload_keeps_the_previous_version(tmp_path):
    data = tmp_path / "data"
    (data / "keep").mkdir(parents=True)  # not empty: no demo data set
    first = Server(data)
    url = f"{first.base}/api/arrays/crash/a"
    previous = np.arange(1000, dtype="<f8")
    assert request("PUT", url, npy_bytes(previous), {"Content-Type": "application/x-npy"})[0] == 201

    # A 400 MB upload, sent slowly enough to be killed halfway.
    big = np.lib.format.header_data_from_array_1_0(np.zeros(50_000_000, "<f8"))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, big)
    conn = http.client.HTTPConnection("127.0.0.1", first.port, timeout=30)
    conn.putrequest("PUT", "/api/arrays/crash/a")
    conn.putheader("Content-Type", "application/x-npy")
    conn.putheader("Content-Length", str(len(header.getvalue()) + 400_000_000))
    conn.endheaders()
    conn.send(header.getvalue())
    chunk = b"\x01" * (1 << 20)
    for _ in range(100):
        conn.send(chunk)
    # Wait until the server has streamed part of the body to its temporary file.
    deadline = time.monotonic() + 10
    uploads = []
    while not any(u.stat().st_size > 0 for u in uploads):
        assert time.monotonic() < deadline, "the upload is being streamed to a temporary file"
        uploads = [u for u in (data / ".downlink" / "tmp").iterdir() if u.is_file()]
    first.kill()
    conn.close()

    second = Server(data)
    try:
        got = np.load(io.BytesIO(request("GET", f"{second.base}/api/arrays/crash/a")[1]))
        np.testing.assert_array_equal(got, previous)
        listing = json.loads(request("GET", f"{second.base}/api/arrays")[1])["arrays"]
        assert [a["name"] for a in listing] == ["crash/a"]
        assert list((data / ".downlink" / "tmp").iterdir()) == []
    finally:
        second.stop()


def test_rows_append_whatever_the_memory_order(server):
    """NumPy arrays of either memory order grow along axis 0 as np.concatenate says."""
    base = f"{server.base}/api/arrays/orders"
    first = np.asfortranarray(np.arange(12, dtype="<f4").reshape(4, 3))
    more_c = np.arange(12, 18, dtype="<f4").reshape(2, 3)
    more_f = np.asfortranarray(np.arange(18, 24, dtype="<f4").reshape(2, 3))
    headers = {"Content-Type": "application/x-npy"}
    assert request("PUT", f"{base}/grid", npy_bytes(first), headers)[0] == 201
    for rows in [more_c, more_f]:
        status, body = request("POST", f"{base}/grid", npy_bytes(rows), headers)
        assert status == 200, body
    got = np.load(io.BytesIO(request("GET", f"{base}/grid")[1]))
    np.testing.assert_array_equal(got, np.concatenate([first, more_c, more_f]))


def test_the_bearer_scheme_is_case_insensitive(tmp_path):
    """RFC 9110: "bearer", "Bearer" and "BEARER" name the same scheme."""
    running = Server(tmp_path, env={"DOWNLINK_WRITE_TOKEN": "s3cret"})
    try:
        url = f"{running.base}/api/arrays/auth/a"
        body = npy_bytes(np.arange(3, dtype="<f8"))
        for scheme, want in [("bearer", 201), ("BEARER", 200), ("Bearer", 200), ("Basic", 401)]:
            headers = {"Content-Type": "application/x-npy", "Authorization": f"{scheme} s3cret"}
            assert request("PUT", url, body, headers)[0] == want, scheme
    finally:
        running.stop()
