"""Telemetry-shaped level of detail, measured over HTTP against the release server.

NumPy writes five arrays the way telemetry arrives, then the script charts each through
/api/lod as the page would and prints one table:

  passes   100M float32, datetime64[ns] timestamps in three passes 95 minutes apart
  adc      500M int16 ADC counts
  columns  (50M, 4) float32, charted column by column
  plain    100M float32, no timestamps
  big      1B float32 with datetime64[ns] timestamps (12 GB on disk)

Per array: the time to the first answer on a fresh server (no pyramid cached; the array's
files are read once first, so they are in the page cache as right after being written), the pyramid
build rate (from the server's log), LOD p50/p99 over random index windows and random time
windows of 2,000 bins once indexed, /api/stats p50/p99 over the same windows (by time where
the series has timestamps), p50 with 8 concurrent clients, and at the end the
server's RssAnon (anonymous memory: not the page cache of the maps).

Usage: python3 benches/telemetry.py [--out DIR] [--only NAME,...] [--keep]
It prints a table and asserts nothing. The arrays take ~15 GB under DIR (default
bench-out/telemetry, kept between runs unless missing).
"""

import argparse
import http.client
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

from harness import REPO, Server, percentiles, warm

CHUNK = 10_000_000
START_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
GAP_NS = 95 * 60 * 1_000_000_000
BINS = 2000
WINDOWS = 300


def write_series(path: Path, n: int, dtype: str, columns: int = 1) -> None:
    """A noisy two-tone signal with bursts, written in chunks (never held whole)."""
    shape = (n,) if columns == 1 else (n, columns)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    rng = np.random.default_rng(7)
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        i = np.arange(a, b, dtype=np.float64)
        base = np.sin(i / 977.0) * 3 + np.sin(i / 53.0) + rng.standard_normal(b - a) * 0.2
        if dtype == "<i2":
            block = (base * 4000).astype("<i2")
        else:
            block = base.astype(dtype)
        if columns == 1:
            out[a:b] = block
        else:
            for c in range(columns):
                out[a:b, c] = block * (c + 1)
    out.flush()
    del out


def write_times(path: Path, n: int, passes: int) -> None:
    """datetime64[ns] at 1 kHz with jitter, in `passes` passes separated by 95-minute gaps."""
    out = np.lib.format.open_memmap(path, mode="w+", dtype="<M8[ns]", shape=(n,))
    per_pass = -(-n // passes)
    for a in range(0, n, CHUNK):
        b = min(n, a + CHUNK)
        i = np.arange(a, b, dtype=np.int64)
        t = START_NS + i * 1_000_000 + (i % 7) * 1000 + (i // per_pass) * GAP_NS
        out[a:b] = t.view("<M8[ns]")
    out.flush()
    del out


SHAPES = {
    "passes": dict(series="passes/x.npy", times="passes/t.npy", n=100_000_000, dtype="<f4", passes=3),
    "adc": dict(series="adc.npy", n=500_000_000, dtype="<i2"),
    "columns": dict(series="columns.npy", n=50_000_000, dtype="<f4", columns=4),
    "plain": dict(series="plain.npy", n=100_000_000, dtype="<f4"),
    "big": dict(series="big/x.npy", times="big/t.npy", n=1_000_000_000, dtype="<f4", passes=3),
}


def ensure(data: Path, name: str) -> None:
    shape = SHAPES[name]
    series = data / shape["series"]
    series.parent.mkdir(parents=True, exist_ok=True)
    if not series.exists():
        print(f"writing {name} ...", file=sys.stderr, flush=True)
        write_series(series, shape["n"], shape["dtype"], shape.get("columns", 1))
    if "times" in shape and not (data / shape["times"]).exists():
        write_times(data / shape["times"], shape["n"], shape["passes"])


def build_rates(log: Path) -> list:
    rates = []
    for line in open(log):
        if "built a LOD pyramid" in line or "checked and indexed timestamps" in line:
            m = re.search(r"gb_per_s\D*([0-9.]+)", re.sub(r"\x1b\[[0-9;]*m", "", line))
            if m:
                rates.append((("timestamps" if "timestamps" in line else "pyramid"), float(m.group(1))))
    return rates


def measure(server: Server, data: Path, name: str) -> dict:
    shape = SHAPES[name]
    for key in ["series", "times"]:
        if key in shape:
            warm(data / shape[key])
    array = shape["series"][:-4]
    n, columns = shape["n"], shape.get("columns", 1)
    column = lambda c: f"&column={c}" if columns > 1 else ""
    started = time.perf_counter()
    server.get(f"/api/lod/{array}?bins={BINS}{column(0)}")
    first_ms = (time.perf_counter() - started) * 1e3
    # Wait until every column's pyramid (and the timestamps' index) is built.
    want = columns + (1 if "times" in shape else 0)
    deadline = time.time() + 600
    if "times" in shape:
        t0 = START_NS
        server.get(f"/api/lod/{array}?t0={t0}&t1={t0 + 1_000_000_000}&bins=10")
    for c in range(1, columns):
        server.get(f"/api/lod/{array}?bins={BINS}{column(c)}")
    while True:
        text = open(server.log).read()
        done = text.count("built a LOD pyramid") + text.count("checked and indexed timestamps")
        trees = text.count("built a moment tree")
        if (done >= server.expected + want and trees >= server.trees + columns) or time.time() > deadline:
            break
        time.sleep(0.05)
    server.expected += want
    server.trees += columns
    rng = random.Random(11)
    span_ns = n * 1_000_000 + (shape.get("passes", 1) - 1) * GAP_NS

    def index_window() -> str:
        width = int(10 ** rng.uniform(3, np.log10(n)))
        start = rng.randrange(0, n - width + 1)
        return f"/api/lod/{array}?start={start}&stop={start + width}&bins={BINS}{column(rng.randrange(columns))}"

    def time_window() -> str:
        width = int(10 ** rng.uniform(9, np.log10(span_ns)))
        t0 = START_NS + rng.randrange(0, span_ns - width + 1)
        return f"/api/lod/{array}?t0={t0}&t1={t0 + width}&bins={BINS}"

    def timed(paths: list, conn) -> list:
        out = []
        for path in paths:
            t = time.perf_counter()
            server.get(path, conn)
            out.append((time.perf_counter() - t) * 1e3)
        return out

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    index_paths = [index_window() for _ in range(WINDOWS)]
    index_ms = timed(index_paths, conn)
    time_paths = [time_window() for _ in range(WINDOWS)] if "times" in shape else []
    time_ms = timed(time_paths, conn) if time_paths else None
    # The statistics of the same windows (by time where the series has timestamps).
    stats_paths = [p.replace("/api/lod/", "/api/stats/").replace(f"&bins={BINS}", "")
                   for p in (time_paths or index_paths)]
    stats_ms = timed(stats_paths, conn)
    conn.close()

    results = [[] for _ in range(8)]
    paths = [[(time_window() if "times" in shape and k % 2 else index_window()) for k in range(60)] for _ in range(8)]

    def client(i: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        results[i] = timed(paths[i], c)
        c.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent = [ms for r in results for ms in r]
    return dict(first_ms=first_ms, index=percentiles(index_ms), time=time_ms and percentiles(time_ms),
                stats=percentiles(stats_ms), concurrent_p50=statistics.median(concurrent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(REPO / "bench-out" / "telemetry"))
    parser.add_argument("--only", default=",".join(SHAPES))
    args = parser.parse_args()
    data = Path(args.out)
    names = [n for n in args.only.split(",") if n]
    for name in names:
        ensure(data, name)
    # Fresh pyramids: a cached one would hide the first answer and the build.
    cache = data / ".downlink" / "lod"
    if cache.exists():
        for f in cache.iterdir():
            f.unlink()
    log = data.parent / "telemetry-server.log"
    server = Server(data, 3991, log, rust_log="downlink=info,warn")
    server.expected = 0
    server.trees = 0
    rows = []
    try:
        rss_before = server.rss_anon_mb()
        for name in names:
            rows.append((name, measure(server, data, name)))
        rss_after = server.rss_anon_mb()
    finally:
        server.stop()
    rates = build_rates(log)
    pyramid_rates = [r for kind, r in rates if kind == "pyramid"]
    time_rates = [r for kind, r in rates if kind == "timestamps"]
    print("| array | first answer | LOD p50 / p99, index windows | LOD p50 / p99, time windows | stats p50 / p99 | p50, 8 clients |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows:
        t = f"{r['time'][0]:.2f} / {r['time'][1]:.2f} ms" if r["time"] else "–"
        st = f"{r['stats'][0]:.2f} / {r['stats'][1]:.2f} ms"
        print(f"| {name} | {r['first_ms']:.0f} ms | {r['index'][0]:.2f} / {r['index'][1]:.2f} ms | {t} | {st} | {r['concurrent_p50']:.2f} ms |")
    print()
    if pyramid_rates:
        print(f"pyramid builds: {len(pyramid_rates)}, {min(pyramid_rates):.2f} to {max(pyramid_rates):.2f} GB/s of samples (split across the cores)")
    if time_rates:
        print(f"timestamp checks: {len(time_rates)}, {min(time_rates):.2f} to {max(time_rates):.2f} GB/s")
    pyramids = sum(f.stat().st_size for f in cache.iterdir()) / 1e6 if cache.exists() else 0
    print(f"server RssAnon: {rss_before:.0f} MB at start, {rss_after:.0f} MB with every array charted; "
          f"the pyramids (as cached on disk) hold {pyramids:.0f} MB")


if __name__ == "__main__":
    main()
