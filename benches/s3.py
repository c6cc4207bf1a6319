"""Downlink over a bucket of a real S3 server (SeaweedFS), against the release server.

The data is telemetry-shaped: 100M int16 ADC counts (`run/x`) with datetime64[ns] timestamps
(`run/t`) in three passes 95 minutes apart, plus a 100 MB and a 1 GB float64 array, uploaded
with boto3 to a fresh `weed mini` on loopback. It prints:

  full GET      MB/s of a 100 MB array: through Downlink (`--data s3://...`, ?format=raw)
                against the same object straight from SeaweedFS's S3 endpoint (a presigned
                URL), both read by the same loop; the median of 7 each, interleaved
  memory        the server's RSS and RssAnon before and at their peak during a GET of the
                1 GB array (sampled every 5 ms)
  LOD           the first /api/lod answer of a fresh replica (today: fetching the series and
                its timestamps, 1 GB, into the cache directory and building their pyramids
                and time index), then
                p50/p99 of 200 random index windows and 200 random time windows of 2,000 bins;
                then the same on a second fresh replica, which fetches the pyramid the first
                one shared in the bucket instead of building it
  cache         requests per second of a repeated view (the tiles of the whole run in time,
                as the chart asks for them) with wrk, straight to the second replica and
                through Debian's nginx with `proxy_cache` in front of it

Usage: python3 benches/s3.py [--out DIR]  (~2.2 GB of fixtures under DIR, default
bench-out/s3, kept between runs; the bucket is made afresh each run). It asserts nothing.
"""

import argparse
import http.client
import json
import math
import random
import re
import subprocess
import tempfile
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np

from harness import REPO, Server, percentiles

sys.path.insert(0, str(REPO / "tests" / "interop"))
from proxy import CachingProxy  # noqa: E402
from seaweed import Seaweed  # noqa: E402

N = 100_000_000
BLOCK = 10_000_000
START_NS = 1_767_225_600_000_000_000
GAP_NS = 95 * 60 * 1_000_000_000
BINS = 2000
WINDOWS = 200
PORT = 3981


def write(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "run" / "x.npy").exists():
        print("writing the fixtures ...", file=sys.stderr, flush=True)
        (out / "run").mkdir(exist_ok=True)
        x = np.lib.format.open_memmap(out / "run" / "x.npy", mode="w+", dtype="<i2", shape=(N,))
        t = np.lib.format.open_memmap(out / "run" / "t.npy", mode="w+", dtype="<M8[ns]", shape=(N,))
        for a in range(0, N, BLOCK):
            b = min(N, a + BLOCK)
            rng = np.random.default_rng(a)
            i = np.arange(a, b, dtype=np.float64)
            x[a:b] = (np.sin(i / 977.0) * 9000 + rng.standard_normal(b - a) * 300).astype("<i2")
            idx = np.arange(a, b, dtype=np.int64)
            t[a:b] = (START_NS + idx * 1_000_000 + (idx * 3 // N) * GAP_NS).view("<M8[ns]")
        x.flush()
        t.flush()
        del x, t
        np.save(out / "g100.npy", np.arange(12_500_000, dtype="<f8"))
        big = np.lib.format.open_memmap(out / "big.npy", mode="w+", dtype="<f8", shape=(125_000_000,))
        for a in range(0, big.shape[0], BLOCK):
            big[a : a + BLOCK] = np.arange(a, min(big.shape[0], a + BLOCK), dtype="<f8")
        big.flush()
        del big


def read_all(conn: http.client.HTTPConnection, path: str, headers=None) -> int:
    """GET `path` and read its body into one reused buffer; the bytes read."""
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {r.read()[:200]!r}")
    buffer = memoryview(bytearray(8 << 20))
    n = 0
    while True:
        got = r.readinto(buffer)
        if not got:
            return n
        n += got


def rate(host: str, port: int, path: str) -> float:
    """MB/s of one GET of `path` on a connection of its own."""
    conn = http.client.HTTPConnection(host, port, timeout=600)
    t = time.perf_counter()
    n = read_all(conn, path)
    mb_s = n / (time.perf_counter() - t) / 1e6
    conn.close()
    return mb_s


def memory(pid: int) -> tuple:
    rss = anon = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("RssAnon:"):
            anon = int(line.split()[1]) / 1024
    return rss, anon


def timed(conn, paths) -> list:
    out = []
    for path in paths:
        t = time.perf_counter()
        read_all(conn, path)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def view_tiles(conn) -> list:
    """The tile paths of the whole run in time at BINS pixels, as the chart makes them
    (`src/lod/tiles.rs`: the level whose bins are nearest one pixel, in ratio)."""
    conn.request("GET", "/api/arrays")
    listing = json.loads(conn.getresponse().read())
    version = {a["name"]: a["etag"].strip('"') for a in listing["arrays"]}
    t0, t1 = START_NS, START_NS + N * 1_000_000 + 2 * GAP_NS
    level = max(0, round(math.log2((t1 - t0) / BINS)))
    span = 1024 << level
    return [
        f"/api/tiles/run/x?v={version['run/x']}&level={level}&tile={k}&by=time"
        f"&time=run/t&tv={version['run/t']}"
        for k in range(t0 // span, (t1 - 1) // span + 1)
    ]


def wrk_rate(port: int, paths: list, seconds: int = 10) -> float:
    """Requests per second of wrk (1 thread, 8 connections) cycling through `paths`."""
    script = Path(tempfile.mkdtemp()) / "paths.lua"
    listed = ", ".join(f'"{p}"' for p in paths)
    script.write_text(f"local paths = {{{listed}}}\nlocal i = 0\n"
                      "request = function()\n  i = i % #paths + 1\n"
                      "  return wrk.format('GET', paths[i])\nend\n")
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors: {out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=REPO / "bench-out" / "s3")
    args = parser.parse_args()
    write(args.out)
    weed = Seaweed()
    try:
        print("uploading with boto3 ...", file=sys.stderr, flush=True)
        weed.upload_dir(args.out, "bench")
        url = f"s3://{weed.bucket}/bench"
        server = Server(url, PORT, env=weed.env)
        try:
            presigned = urllib.parse.urlparse(weed.client.generate_presigned_url(
                "get_object", Params={"Bucket": weed.bucket, "Key": "bench/g100.npy"}, ExpiresIn=3600))
            # Interleaved, 7 of each: the machine's noise falls on both alike.
            directs, throughs = [], []
            for _ in range(7):
                directs.append(rate(presigned.hostname, presigned.port, f"{presigned.path}?{presigned.query}"))
                throughs.append(rate("127.0.0.1", PORT, "/api/arrays/g100?format=raw"))
            direct, through = statistics.median(directs), statistics.median(throughs)

            before = memory(server.proc.pid)
            peak = list(before)
            done = threading.Event()

            def sample():
                while not done.is_set():
                    now = memory(server.proc.pid)
                    peak[0], peak[1] = max(peak[0], now[0]), max(peak[1], now[1])
                    time.sleep(0.005)

            sampler = threading.Thread(target=sample)
            sampler.start()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=600)
            t = time.perf_counter()
            n = read_all(conn, "/api/arrays/big?format=raw")
            big_rate = n / (time.perf_counter() - t) / 1e6
            done.set()
            sampler.join()

            rng = random.Random(5)
            t = time.perf_counter()
            read_all(conn, f"/api/lod/run/x?bins={BINS}")
            first_ms = (time.perf_counter() - t) * 1e3
            span = N * 1_000_000 + 2 * GAP_NS

            def index_window():
                width = int(10 ** rng.uniform(3, np.log10(N)))
                a = rng.randrange(0, N - width + 1)
                return f"/api/lod/run/x?start={a}&stop={a + width}&bins={BINS}"

            def time_window():
                width = int(10 ** rng.uniform(9, np.log10(span)))
                t0 = START_NS + rng.randrange(0, span - width + 1)
                return f"/api/lod/run/x?time=run/t&t0={t0}&t1={t0 + width}&bins={BINS}"

            index_ms = percentiles(timed(conn, [index_window() for _ in range(WINDOWS)]))
            time_ms = percentiles(timed(conn, [time_window() for _ in range(WINDOWS)]))
            conn.close()
            # The replica shares the series' pyramid and moment tree through the bucket.
            deadline = time.monotonic() + 120
            while len(weed.client.list_objects_v2(Bucket=weed.bucket, Prefix="bench/.downlink/lod/").get("Contents", [])) < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError("the pyramid was never shared")
                time.sleep(0.2)
        finally:
            server.stop()
        # A second replica: it fetches the pyramid instead of building it (the series and
        # its timestamps it still fetches, on the first LOD).
        second = Server(url, PORT + 1, env=weed.env)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT + 1, timeout=600)
            t = time.perf_counter()
            read_all(conn, f"/api/lod/run/x?bins={BINS}")
            second_first_ms = (time.perf_counter() - t) * 1e3
            rng = random.Random(6)
            second_ms = percentiles(timed(conn, [index_window() for _ in range(WINDOWS)]))
            # A view seen again, as the chart asks for it: the tiles of the whole run in time.
            view = view_tiles(conn)
            for path in view:
                read_all(conn, path)
            conn.close()
            proxy = CachingProxy(PORT + 1, PORT + 2)
            try:
                straight_rps = wrk_rate(PORT + 1, view)
                cached_rps = wrk_rate(PORT + 2, view)
            finally:
                proxy.stop()
        finally:
            second.stop()
    finally:
        weed.stop()
    print("| Downlink on `s3://` (SeaweedFS, loopback) | figure |")
    print("|---|---:|")
    print(f"| full GET of 100 MB, straight from SeaweedFS (presigned URL), median of 7 | {direct:.0f} MB/s |")
    print(f"| full GET of 100 MB, through Downlink, median of 7 | {through:.0f} MB/s ({through / direct:.2f}x) |")
    print(f"| GET of 1 GB through Downlink | {big_rate:.0f} MB/s |")
    print(f"| server memory before / peak during the 1 GB GET: RSS | {before[0]:.0f} / {peak[0]:.0f} MB |")
    print(f"| server memory before / peak during the 1 GB GET: RssAnon | {before[1]:.0f} / {peak[1]:.0f} MB |")
    print(f"| first LOD of a fresh replica (fetch 1 GB: series and timestamps; build) | {first_ms:.0f} ms |")
    print(f"| LOD p50 / p99, index windows (2,000 bins) | {index_ms[0]:.2f} / {index_ms[1]:.2f} ms |")
    print(f"| LOD p50 / p99, time windows (2,000 bins) | {time_ms[0]:.2f} / {time_ms[1]:.2f} ms |")
    print(f"| second replica: first LOD (fetch 1 GB; pyramid fetched, not built) | {second_first_ms:.0f} ms |")
    print(f"| second replica: LOD p50 / p99, index windows | {second_ms[0]:.2f} / {second_ms[1]:.2f} ms |")
    print(f"| a repeated view ({len(view)} tiles in time), straight to the replica (wrk, 8 connections) | {straight_rps:.0f} req/s |")
    print(f"| the same behind nginx `proxy_cache` | {cached_rps:.0f} req/s ({cached_rps / straight_rps:.1f}x) |")


if __name__ == "__main__":
    main()
