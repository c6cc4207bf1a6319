"""Start and stop the release `downlink` binary for the interop tests."""

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, what: str, seconds: float = 20) -> None:
    """Wait until `url` answers, or fail when `proc` exits or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited during start-up")
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


class Server:
    """A running server over `data` (a directory, or an `s3://` URL as a string); `base` is
    its URL."""

    def __init__(self, data, port: int | None = None, env: dict | None = None, args: list | None = None,
                 log: Path | None = None):
        self.data = data if isinstance(data, str) else Path(data)
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        binary = os.environ.get("DOWNLINK_BIN", str(REPO / "target/release/downlink"))
        full_env = dict(os.environ, LEPTOS_SITE_ROOT=str(REPO / "target/site"), RUST_LOG="warn")
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [binary, "--data", str(self.data), "--addr", f"127.0.0.1:{self.port}", *(args or [])],
            env=full_env,
            stdout=open(log, "wb") if log else None,
            stderr=subprocess.STDOUT if log else None,
        )
        wait_until_up(self.base + "/api/arrays", self.proc, "downlink")

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
