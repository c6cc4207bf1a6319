"""Bounded under load, from outside the release binary: conversions stream in bounded
memory (measured in /proc/PID/status) with a prompt first byte, slow and idle clients time
out, the connection cap holds, a full pool of heavy work answers 503 with Retry-After, and
an /api/events subscriber that stops reading is dropped while the others keep receiving.
"""

import http.client
import io
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from server import Server  # noqa: E402

SAMPLES = 100_000_000
CHUNK = 8 << 20


def rss_anon_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    raise AssertionError("no RssAnon")


class PeakRss:
    """Samples a process's RssAnon every 5 ms while in a `with` block."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def __enter__(self):
        self.start = rss_anon_kb(self.pid)
        self.thread = threading.Thread(target=self.run)
        self.thread.start()
        return self

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_anon_kb(self.pid))
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.start) / 1024


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """100M float32 samples (400 MB), written in chunks."""
    data = tmp_path_factory.mktemp("limits")
    (data / "big").mkdir()
    out = np.lib.format.open_memmap(data / "big" / "x.npy", mode="w+", dtype="<f4", shape=(SAMPLES,))
    for a in range(0, SAMPLES, 10_000_000):
        out[a : a + 10_000_000] = np.arange(a, a + 10_000_000, dtype=np.float64) * 0.5
    out.flush()
    del out
    return data


@pytest.fixture(scope="module")
def server(big):
    running = Server(big, args=["--heavy", "4"])
    yield running
    running.stop()


def get(server, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", path, headers=headers or {})
    return conn, conn.getresponse()


def test_a_conversion_streams_in_bounded_memory_and_is_exact(server, big):
    source = np.load(big / "big" / "x.npy", mmap_mode="r")
    # Four at once, as the issue tried: each would have built its 800 MB body first.
    responses = [get(server, "/api/arrays/big/x?dtype=%3Cf8&format=raw") for _ in range(4)]
    with PeakRss(server.proc.pid) as rss:
        for k, (conn, response) in enumerate(responses):
            assert response.status == 200
            assert int(response.getheader("Content-Length")) == SAMPLES * 8
            at = 0
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                if k == 0:  # every byte of one of them, against NumPy's conversion
                    n = len(chunk) // 8
                    assert chunk == np.asarray(source[at : at + n], dtype="<f8").tobytes()
                at += len(chunk) // 8
            assert at == SAMPLES
            conn.close()
    print(f"RssAnon growth over four 800 MB conversions: {rss.growth_mb:.1f} MB")
    assert rss.growth_mb < 64, f"{rss.growth_mb:.1f} MB"


def test_the_first_byte_of_a_conversion_is_prompt_and_ranges_compute_only_their_bytes(server, big):
    source = np.load(big / "big" / "x.npy", mmap_mode="r")
    best = float("inf")
    for path in ["/api/arrays/big/x?dtype=%3Cf8", "/api/arrays/big/x?slice=::3", "/api/arrays/big/x?dtype=%3Ef4"]:
        started = time.monotonic()
        conn, response = get(server, path)
        first = response.read(1)
        elapsed = time.monotonic() - started
        assert response.status == 200 and first == b"\x93", path
        best = min(best, elapsed)
        assert elapsed < 0.1, f"{path}: first byte after {elapsed * 1000:.0f} ms"
        conn.close()
    # A range far into a converted representation: exactly its bytes, at once.
    conn, response = get(server, "/api/arrays/big/x?dtype=%3Cf8&format=raw", {"Range": "bytes=640000003-640000099"})
    assert response.status == 206
    body = response.read()
    want = np.asarray(source[80_000_000:80_000_013], dtype="<f8").tobytes()[3:100]
    assert body == want
    conn.close()


def test_a_half_sent_header_and_an_idle_connection_are_closed_after_the_timeout(big):
    running = Server(big, args=["--header-timeout", "1"])
    try:
        half = socket.create_connection(("127.0.0.1", running.port))
        half.sendall(b"GET /api/arrays HTTP/1.1\r\nHost: x\r\n")
        idle = socket.create_connection(("127.0.0.1", running.port))
        idle.sendall(b"GET /api/arrays HTTP/1.1\r\nHost: x\r\n\r\n")
        started = time.monotonic()
        for sock in (half, idle):
            sock.settimeout(5)
            received = b""
            while True:
                part = sock.recv(65536)
                if not part:
                    break
                received += part
            closed_after = time.monotonic() - started
            assert 0.9 < closed_after < 3, f"closed after {closed_after:.2f} s"
            sock.close()
        # The idle one got its answer first, then was closed when it sent nothing more.
        assert received.startswith(b"HTTP/1.1 200")
    finally:
        running.stop()


def test_the_connection_cap_holds_and_waiting_connections_are_served_in_turn(big):
    running = Server(big, args=["--max-connections", "4", "--header-timeout", "30"])
    try:
        held = [socket.create_connection(("127.0.0.1", running.port)) for _ in range(4)]
        for sock in held:
            sock.sendall(b"GET /api/arrays HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(5)
            assert sock.recv(12) == b"HTTP/1.1 200"
        # A fifth connection waits in the listen queue: no answer while the four are open.
        fifth = socket.create_connection(("127.0.0.1", running.port))
        fifth.sendall(b"GET /api/arrays HTTP/1.1\r\nHost: x\r\n\r\n")
        fifth.settimeout(0.5)
        with pytest.raises(socket.timeout):
            fifth.recv(12)
        held.pop().close()
        fifth.settimeout(5)
        assert fifth.recv(12) == b"HTTP/1.1 200"
        for sock in [*held, fifth]:
            sock.close()
    finally:
        running.stop()


def test_a_full_pool_of_heavy_work_answers_503_with_retry_after_and_cheap_requests_go_on(big):
    running = Server(big, args=["--heavy", "1", "--heavy-wait-ms", "200"])
    try:
        # One conversion holds the only permit while its client reads slowly.
        slow, response = get(running, "/api/arrays/big/x?dtype=%3Cf8")
        assert response.status == 200 and response.read(1024)
        started = time.monotonic()
        conn, refused = get(running, "/api/arrays/big/x?slice=::2")
        waited = time.monotonic() - started
        assert refused.status == 503 and refused.getheader("Retry-After") == "1"
        assert b"busy" in refused.read()
        assert 0.15 < waited < 2, waited
        conn.close()
        # Listing and zero-copy reads never wait for the pool.
        for path in ["/api/arrays", "/api/arrays/big/x?slice=:1000"]:
            started = time.monotonic()
            conn, cheap = get(running, path)
            assert cheap.status == 200 and cheap.read()
            assert time.monotonic() - started < 0.1, path
            conn.close()
        slow.close()
        # The permit comes back once that client is gone.
        deadline = time.monotonic() + 5
        while True:
            conn, again = get(running, "/api/arrays/big/x?dtype=%3Cf8&slice=:10")
            if again.status == 200 or time.monotonic() > deadline:
                break
            conn.close()
        assert again.status == 200
        assert np.load(io.BytesIO(again.read())).dtype == np.float64
    finally:
        running.stop()


def test_a_stalled_upload_is_abandoned_with_408_and_nothing_stored(big):
    running = Server(big, args=["--body-timeout", "1"])
    try:
        conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        conn.putrequest("PUT", "/api/arrays/stalled/a")
        conn.putheader("Content-Type", "application/x-npy")
        conn.putheader("Content-Length", "100000")
        conn.endheaders()
        conn.send(b"\x93NUMPY" + b"\x00" * 100)
        started = time.monotonic()
        response = conn.getresponse()
        assert response.status == 408
        assert 0.9 < time.monotonic() - started < 5
        assert b"nothing was stored" in response.read()
        conn, missing = get(running, "/api/arrays/stalled/a")
        assert missing.status == 404
    finally:
        running.stop()


def test_a_subscriber_that_stops_reading_is_dropped_while_others_keep_receiving(tmp_path):
    (tmp_path / "seed").mkdir()
    np.save(tmp_path / "seed" / "x.npy", np.arange(3))
    running = Server(tmp_path)
    try:
        # A reads every event; B subscribes with a tiny receive buffer and never reads.
        reader = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
        reader.request("GET", "/api/events")
        stream = reader.getresponse()
        received = []

        def read_all():
            try:
                for line in stream:
                    if line.startswith(b"data:"):
                        received.append(line)
            except (OSError, AttributeError, ValueError):
                pass  # closed at the end of the test

        thread = threading.Thread(target=read_all, daemon=True)
        thread.start()
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(("127.0.0.1", running.port))
        stuck.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")

        buf = io.BytesIO()
        np.save(buf, np.arange(4, dtype="<u1"))
        body = buf.getvalue()
        # Enough events to fill what the stuck connection's kernel buffers absorb (about 3 MB
        # here) and then its 1,024 events of lag: long names make each event ~330 bytes.
        writes = 14000
        long = "x" * 230

        def writer(k):
            conn = http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)
            for i in range(k, writes, 4):
                conn.request("PUT", f"/api/arrays/churn/{long}{i % 50}", body, {"Content-Type": "application/x-npy"})
                assert conn.getresponse().read() is not None

        writers = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        # The reader got every event.
        deadline = time.monotonic() + 10
        while len(received) < writes and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(received) == writes
        # The stuck one was dropped: draining its socket now ends in EOF, not a live stream.
        time.sleep(1.5)
        stuck.settimeout(5)
        while True:
            part = stuck.recv(1 << 20)
            if not part:
                break
        stuck.close()
        reader.close()
    finally:
        running.stop()


def test_a_deflated_npz_member_is_served_without_its_inflated_size_in_memory(tmp_path):
    """np.savez_compressed of 400 MB: inflated once to disk under .downlink/npz and mapped."""
    data = tmp_path / "data"
    data.mkdir()
    x = np.tile(np.arange(1000, dtype="<f4"), 100_000)  # 400 MB, compresses well
    np.savez_compressed(data / "packed.npz", x=x, t=np.arange(3))
    assert (data / "packed.npz").stat().st_size < 8 << 20
    running = Server(data)
    try:
        with PeakRss(running.proc.pid) as rss:
            conn, response = get(running, "/api/arrays/packed/x?format=raw")
            assert response.status == 200
            at = 0
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                n = len(chunk) // 4
                assert chunk == x[at:at + n].tobytes()
                at += n
            conn.close()
        assert at == x.size
        print(f"RssAnon growth serving a 400 MB deflated member: {rss.growth_mb:.1f} MB")
        assert rss.growth_mb < 64, f"{rss.growth_mb:.1f} MB"
        cached = list((data / ".downlink" / "npz").glob("*/*.npy"))
        assert len(cached) == 2 and max(p.stat().st_size for p in cached) > 400_000_000
    finally:
        running.stop()
