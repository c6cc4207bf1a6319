"""What the HTTP benchmark scripts share: the release server on a data directory, GETs,
percentiles, and reading files into the page cache."""

import http.client
import os
import statistics
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Server:
    """The release binary serving `data` (a directory, or an `s3://` URL with the AWS_*
    variables in `env`) on 127.0.0.1:`port`; its output goes to `log` (RUST_LOG `rust_log`)
    or is discarded."""

    def __init__(self, data, port: int, log: Path | None = None, rust_log: str = "warn", env: dict | None = None):
        env = dict(os.environ, LEPTOS_SITE_ROOT=str(REPO / "target/site"), RUST_LOG=rust_log, **(env or {}))
        self.log = log
        self.proc = subprocess.Popen(
            [str(REPO / "target/release/downlink"), "--data", str(data), "--addr", f"127.0.0.1:{port}"],
            env=env, stdout=open(log, "w") if log else subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        self.port = port
        for _ in range(600):
            try:
                self.get("/api/arrays")
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("downlink did not start")

    def get(self, path: str, conn=None) -> bytes:
        """The body of GET `path` (on `conn` if given, else a connection of its own)."""
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if own:
            conn.close()
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {body[:200]!r}")
        return body

    def rss_anon_mb(self) -> float:
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def percentiles(samples_ms: list) -> tuple:
    """p50 and p99."""
    s = sorted(samples_ms)
    return statistics.median(s), s[min(len(s) - 1, int(len(s) * 0.99))]


def warm(path: Path) -> None:
    """Read a file, or every file under a folder, once, so it is in the page cache (as it is
    right after being written)."""
    for p in [path] if path.is_file() else sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(64 << 20):
                    pass
