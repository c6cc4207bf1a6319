"""Debian's nginx as a caching reverse proxy (`proxy_cache`) in front of a Downlink server, on
loopback with an explicit port, for the tests and the benchmarks. It keeps what the answers'
`Cache-Control` lets it keep, and says what it did in `X-Cache-Status` (MISS, HIT, ...)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from server import free_port, wait_until_up

CONF = """
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    proxy_cache_path {dir}/cache levels=1:2 keys_zone=downlink:10m max_size=1g inactive=1d use_temp_path=off;
    upstream downlink {{
        server 127.0.0.1:{upstream};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://downlink;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache downlink;
            add_header X-Cache-Status $upstream_cache_status always;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        raise RuntimeError("nginx is not installed (apt-get install nginx; ./dev install does it)")
    return found


class CachingProxy:
    """nginx on 127.0.0.1:`port` caching for the server on `upstream` (a port); `base` is its
    URL. Stopped by its PID."""

    def __init__(self, upstream: int, port: int | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="dl-nginx-"))
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # Run by root, nginx's workers would be `nobody`, who cannot enter the temporary folder.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.dir / "nginx.conf"
        conf.write_text(CONF.format(user=user, dir=self.dir, upstream=upstream, port=self.port))
        self.proc = subprocess.Popen(
            [nginx_binary(), "-p", str(self.dir), "-c", str(conf), "-e", str(self.dir / "error.log"),
             "-g", "daemon off;"],
        )
        try:
            wait_until_up(self.base + "/api/arrays", self.proc, "nginx", seconds=10)
        except RuntimeError as err:
            raise RuntimeError(f"{err}: {(self.dir / 'error.log').read_text()}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)
