"""The server under a mixed load, measured from outside: a table per request kind.

For 60 s against the release server on loopback, at 64 concurrent clients (Debian's wrk,
one run per kind, with `benches/load.lua`):

  list      GET /api/arrays
  get-4MB   zero-copy GET of a 4 MB array
  get-100MB zero-copy GET of a 100 MB array
  convert   GET ?dtype=<f8 of a 100M-sample float32 array (an 800 MB body, computed)
  strided   GET ?slice=::16 of it (25 MB, gathered)
  bundle    GET /api/bundle of two 4 MB arrays
  lod       GET /api/lod of random windows of it, 2,000 bins (from its pyramid)

while 1,000 idle /api/events subscribers stay connected and 2,000 connections send half a
request header and stop (each reopened when the server closes it, to keep the pressure).
The cheap kinds (list, get-4MB, lod) and bundle are probes: each of their connections pauses
between requests (wrk's delay()), so their latency is the server's answer under the load
rather than the queue a saturating client builds; the heavy kinds run closed-loop.

It prints, per kind, requests/s, p50/p99 and the status counts; the server's peak RssAnon
and open file descriptors; how long the slow-header connections lived; and how many
subscribers were still connected at the end. It asserts nothing.

Usage: python3 benches/load.py [--seconds 60] [--out DIR] [--only KIND,...] [--no-idle]
(needs wrk: apt-get install wrk)
The arrays take ~520 MB under DIR (default bench-out/load).
"""

import argparse
import json
import multiprocessing
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SERIES = 100_000_000
SLOW_HEADERS = 2000
SUBSCRIBERS = 1000
HEADER_TIMEOUT_S = 10

KINDS = [
    # (kind, path, wrk connections, cheap?, pause between a connection's requests in ms,
    # count each status?). Cheap (the word: listing, zero-copy GETs of small arrays,
    # LOD from a pyramid) and bundle are probes at a steady rate, as pages make them, so
    # their latency is the server's answer under the load; the rest run closed-loop, as fast
    # as they are served. Statuses are counted one by one for bodies up to 8 MB (see
    # load.lua); the big kinds' non-2xx are checked against the server's log instead.
    ("list", "/api/arrays", 4, True, 10, True),
    ("get-4MB", "/api/arrays/load/small", 4, True, 50, True),
    ("bundle", "/api/bundle?name=load/small&name=load/small2", 4, False, 100, True),
    ("lod", "/api/lod/load/series?start={START}&stop={STOP}&bins=2000", 8, True, 10, True),
    ("get-100MB", "/api/arrays/load/big", 12, False, 0, False),
    ("convert", "/api/arrays/load/series?dtype=%3Cf8", 16, False, 0, False),
    ("strided", "/api/arrays/load/series?slice=::16", 16, False, 0, False),
]


def write(path: Path, n: int) -> None:
    if path.exists():
        return
    out = np.lib.format.open_memmap(path, mode="w+", dtype="<f4", shape=(n,))
    step = 10_000_000
    for a in range(0, n, step):
        b = min(n, a + step)
        i = np.arange(a, b, dtype=np.float64)
        out[a:b] = np.sin(i / 977.0) * 3 + np.sin(i / 53.0)
    out.flush()


def proc_status(pid: int) -> tuple[float, int]:
    """RssAnon (MB) and open file descriptors of `pid`."""
    rss = 0.0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("RssAnon:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


class Watch(threading.Thread):
    """Samples the server's RssAnon and descriptors every 50 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_rss, self.peak_fds, self.stop = pid, 0.0, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            rss, fds = proc_status(self.pid)
            self.peak_rss, self.peak_fds = max(self.peak_rss, rss), max(self.peak_fds, fds)
            time.sleep(0.05)


class SlowHeaders(multiprocessing.Process):
    """Connections that send half a header; reopened when the server closes them. A process
    of its own, so the other threads' work never delays the moment a close is seen."""

    def __init__(self, port: int, count: int):
        super().__init__(daemon=True)
        self.port, self.count, self.stop = port, count, multiprocessing.Event()
        self.results = multiprocessing.Queue()
        self.lifetimes: list[float] = []

    def open_one(self):
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.sendall(b"GET /api/arrays HTTP/1.1\r\nHost: load\r\nX-Slow: ")
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, time.monotonic())

    def run(self):
        os.nice(10)  # a client, like the closed-loop wrk runs: see wrk()
        resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
        self.selector = selectors.DefaultSelector()
        for _ in range(self.count):
            self.open_one()
        pending = 0
        while not self.stop.is_set():
            ready = self.selector.select(timeout=0.01 if pending else 0.2)
            closed_at = time.monotonic()
            # Closes are timed as soon as they are seen; the connections are reopened 50 at
            # a time between looks, so reopening never delays seeing the next close.
            for key, _ in ready:
                try:
                    data = key.fileobj.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self.lifetimes.append(closed_at - key.data)
                    self.selector.unregister(key.fileobj)
                    key.fileobj.close()
                    pending += 1
            for _ in range(min(pending, 50)):
                self.open_one()
                pending -= 1
        self.results.put(self.lifetimes)

    def finish(self) -> list[float]:
        """Stop, and the lifetimes of the connections the server closed."""
        self.stop.set()
        lifetimes = self.results.get(timeout=60)
        self.join(timeout=30)
        return lifetimes



class Subscribers(threading.Thread):
    """Idle /api/events subscribers that read whatever comes (keep-alive comments)."""

    def __init__(self, port: int, count: int):
        super().__init__(daemon=True)
        self.selector = selectors.DefaultSelector()
        self.count, self.closed, self.stop = count, 0, threading.Event()
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: load\r\n\r\n")
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)

    def run(self):
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.closed += 1
                    self.selector.unregister(key.fileobj)

    def connected(self) -> int:
        return len(self.selector.get_map())


def wrk(port: int, kind: str, path: str, connections: int, pause_ms: int, statuses: bool,
        seconds: int) -> subprocess.Popen:
    # The closed-loop clients run at a lower CPU priority: on this one machine they share
    # the cores with the server they measure, where real clients would bring their own.
    nice = [] if pause_ms else ["nice", "-n", "10"]
    return subprocess.Popen(
        [*nice, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s",
         "-s", str(REPO / "benches" / "load.lua"), f"http://127.0.0.1:{port}{path}", "--",
         str(SERIES), kind, str(pause_ms)],
        stdout=subprocess.PIPE, text=True, env=dict(os.environ, STATUSES="1" if statuses else "0"),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "load")
    parser.add_argument("--only", default="", help="comma-separated kinds to run (default: all)")
    parser.add_argument("--no-idle", action="store_true", help="without subscribers and slow headers")
    args = parser.parse_args()
    kinds = [k for k in KINDS if not args.only or k[0] in args.only.split(",")]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    data = args.out
    (data / "load").mkdir(parents=True, exist_ok=True)
    print("writing the arrays (once) ...", file=sys.stderr, flush=True)
    write(data / "load" / "series.npy", SERIES)
    write(data / "load" / "small.npy", 1_000_000)
    write(data / "load" / "small2.npy", 1_000_000)
    write(data / "load" / "big.npy", 25_000_000)

    port = 3971
    env = dict(os.environ, LEPTOS_SITE_ROOT=str(REPO / "target/site"), RUST_LOG="warn")
    log = open(data / "server.log", "w")
    server = subprocess.Popen(
        [str(REPO / "target/release/downlink"), "--data", str(data), "--addr", f"127.0.0.1:{port}",
         "--header-timeout", str(HEADER_TIMEOUT_S)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/api/arrays", timeout=1).read()
                break
            except OSError:
                time.sleep(0.05)
        # The series' pyramid first, as a page would have built it.
        started = time.monotonic()
        while time.monotonic() - started < 60:
            urllib.request.urlopen(f"{base}/api/lod/load/series?bins=2000", timeout=60).read()
            t = time.monotonic()
            urllib.request.urlopen(f"{base}/api/lod/load/series?bins=2000", timeout=60).read()
            if time.monotonic() - t < 0.02:
                break
        rss_idle, fds_idle = proc_status(server.pid)

        watch = Watch(server.pid)
        watch.start()
        subscribers = Subscribers(port, 0 if args.no_idle else SUBSCRIBERS)
        subscribers.start()
        slow = SlowHeaders(port, 0 if args.no_idle else SLOW_HEADERS)
        slow.start()
        print(f"running {args.seconds} s at {sum(k[2] for k in kinds)} clients ...", file=sys.stderr, flush=True)
        runs = [(kind, cheap, pause, wrk(port, kind, path, c, pause, statuses, args.seconds))
                for kind, path, c, cheap, pause, statuses in kinds]
        results = []
        for kind, cheap, pause, run in runs:
            out, _ = run.communicate()
            line = next((l for l in out.splitlines() if l.startswith("{")), None)
            results.append((kind, cheap, pause, json.loads(line) if line else None, out))
        still_subscribed = subscribers.connected()
        slow_lifetimes = slow.finish()
        subscribers.stop.set()
        watch.stop.set()
        watch.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    print()
    print(f"{args.seconds} s, {sum(k[2] for k in kinds)} wrk clients, {subscribers.count} idle subscribers, "
          f"{slow.count} slow-header connections, on {os.cpu_count()} cores")
    print()
    print("| kind | clients | requests/s | p50 | p99 | statuses |")
    print("|---|---:|---:|---:|---:|---|")
    bad, cheap_p99 = 0, 0.0
    clients = {k[0]: k[2] for k in kinds}
    for kind, cheap, pause, r, raw in results:
        if r is None:
            print(f"| {kind} | wrk failed: {raw.strip()[:80]} | | | |")
            continue
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(r["statuses"].items()))
        errors = ", ".join(f"{n} {what}" for what, n in r["errors"].items() if n)
        if errors:
            statuses += f", socket errors: {errors}"
        bad += sum(n for s, n in r["statuses"].items() if s.startswith("5") and s != "503")
        if cheap:
            cheap_p99 = max(cheap_p99, r["p99_ms"])
        label = kind + (" (cheap)" if cheap else "") + (f", each client every {pause} ms" if pause else "")
        print(f"| {label} | {clients[kind]} | {r['requests'] / r['seconds']:.0f} | {r['p50_ms']:.1f} ms "
              f"| {r['p99_ms']:.1f} ms | {statuses} |")
    print()
    lifetimes = sorted(slow_lifetimes)
    if lifetimes:
        print(f"slow-header connections closed by the server: {len(lifetimes)}, after "
              f"{statistics.median(lifetimes):.2f} s median, {lifetimes[-1]:.2f} s at most "
              f"(timeout {HEADER_TIMEOUT_S} s)")
    print(f"idle subscribers still connected at the end: {still_subscribed} of {subscribers.count}")
    print(f"server RssAnon: {rss_idle:.0f} MB idle, {watch.peak_rss:.0f} MB at peak; "
          f"open descriptors: {fds_idle} idle, {watch.peak_fds} at peak")
    # The server logs every 5xx it answers but 503 (a client's error or a refusal is not a fault).
    log.flush()
    faults = [line for line in open(data / "server.log") if "ERROR" in line or "panicked" in line]
    print(f"5xx other than 503: {bad} counted by wrk; server faults logged: {len(faults)}")
    for line in faults[:5]:
        print("  " + line.rstrip())
    print(f"worst p99 of the cheap kinds: {cheap_p99:.1f} ms")


if __name__ == "__main__":
    main()
