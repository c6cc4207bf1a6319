"""`Client`: the Downlink HTTP API from Python, arrays in and out as NumPy arrays.

Arrays travel as bytes both ways. A response is read once into a buffer and the arrays are
views of it; an upload sends the array's own memory after an .npy header. One `Client` may
be shared by threads: each thread keeps its own keep-alive connection.
"""

from __future__ import annotations

import datetime as _dt
import http.client
import json
import os
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from . import errors
from .npy import bundle_parts, dtype_of, npy_parts, read_bundle, read_npy

NPY = "application/x-npy"
BUNDLE = "application/x-downlink-bundle"


@dataclass(frozen=True)
class ArrayInfo:
    """One entry of the listing: what the server stores under `name`."""

    name: str
    dtype: np.dtype
    shape: tuple
    nbytes: int
    etag: str

    @classmethod
    def from_json(cls, entry: dict) -> "ArrayInfo":
        return cls(entry["name"], dtype_of(entry["dtype"]), tuple(entry["shape"]), entry["nbytes"], entry["etag"])


@dataclass(frozen=True)
class Lod:
    """A min/max (M4) envelope of a window, as `GET /api/lod` answers it.

    `window` is [first, last + 1) sample of the window; `index` (C, B, 4) holds per bin the
    sample index of the first, min, max and last sample, `value` their values as float64
    and `time` their timestamps (datetime64), or None for a series without timestamps.
    """

    window: np.ndarray
    index: np.ndarray
    value: np.ndarray
    time: np.ndarray | None


@dataclass(frozen=True)
class Event:
    """One live event: `kind` is "changed", "deleted" or "dropped", `data` its JSON."""

    kind: str
    data: dict


class Client:
    """A Downlink server at `url` ("http://127.0.0.1:3000"); `token` for writes when the
    server has DOWNLINK_WRITE_TOKEN set.

    A 503 (the server's heavy-work pool is full) is retried up to `retries` times after the
    Retry-After the server gives; then `errors.Busy` is raised.
    """

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 60.0, retries: int = 3):
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url_base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._path = parts.path
        self.token, self.timeout, self.retries = token, timeout, retries
        self._local = threading.local()

    # -- reading -------------------------------------------------------------------------

    def list(self) -> list[ArrayInfo]:
        """Every array the server serves, in its order."""
        body = self._request("GET", "/api/arrays")
        return [ArrayInfo.from_json(entry) for entry in json.loads(body)["arrays"]]

    def info(self, name: str) -> ArrayInfo:
        """What the server stores under `name` (one listing entry)."""
        for entry in self.list():
            if entry.name == name:
                return entry
        raise errors.NotFound(f"no array named {name!r}", method="GET", url=self._url("/api/arrays"))

    def get(self, name: str, slice=None, dtype=None) -> np.ndarray:
        """The array `name`, or the rows `slice` of it ("a:b:c" or a Python slice, along
        axis 0), converted to `dtype` by the server when given ("<f8", np.float32, ...).
        The array is a writable view of the response's one buffer."""
        query = self._read_query(slice, dtype)
        return read_npy(self._request("GET", f"/api/arrays/{_quote(name)}", query))

    def get_many(self, names: Sequence[str], slice=None, dtype=None) -> dict[str, np.ndarray]:
        """Several arrays in one bundle request: {name: array}, each a view of the one
        response buffer (no copy). `slice` and `dtype` apply to every array."""
        query = [("name", name) for name in names] + self._read_query(slice, dtype)
        return read_bundle(self._request("GET", "/api/bundle", query))

    def lod(
        self,
        name: str,
        start: int | None = None,
        stop: int | None = None,
        *,
        t0=None,
        t1=None,
        bins: int | None = None,
        column: int | None = None,
        time=None,
    ) -> Lod:
        """The M4 envelope of samples [start, stop), or of instants [t0, t1) for a series
        with timestamps (datetime64, datetime, ISO 8601 strings or int ns since the epoch),
        in `bins` bins (the server's default 1,000). `time` names the timestamps array."""
        query = [
            (key, value)
            for key, value in [
                ("start", start),
                ("stop", stop),
                ("t0", _instant(t0)),
                ("t1", _instant(t1)),
                ("bins", bins),
                ("column", column),
                ("time", time),
            ]
            if value is not None
        ]
        arrays = read_bundle(self._request("GET", f"/api/lod/{_quote(name)}", query))
        return Lod(arrays["window"], arrays["index"], arrays["value"], arrays.get("time"))

    def stats(self, name: str, start: int | None = None, stop: int | None = None, *,
              t0=None, t1=None, column: int | None = None, time=None) -> list[dict]:
        """The statistics of a window, one dict per column: samples, count (not NaN), nan,
        min/min_index, max/max_index, mean, rms, std (ddof 0), exact from the server; None
        where the window has no value. The window is as for `lod`."""
        query = _window(start, stop, t0, t1) + _extra(column=column, time=time)
        return json.loads(self._request("GET", f"/api/stats/{_quote(name)}", query))["columns"]

    def spectrum(self, name: str, start: int | None = None, stop: int | None = None, *,
                 t0=None, t1=None, column: int | None = None, time=None,
                 nperseg: int | None = None, rate: float | None = None) -> dict:
        """The Welch power spectral density of a window (Hann, half overlap, constant
        detrend, one-sided density), as the server computes it: a dict with "frequency"
        and "psd" as float64 arrays (psd of shape (columns, bins)), "peak_frequency" per
        column, and how it was made (rate_hz, rate_from, nperseg, segments...)."""
        query = _window(start, stop, t0, t1) + _extra(column=column, time=time, nperseg=nperseg, rate=rate)
        answer = json.loads(self._request("GET", f"/api/spectrum/{_quote(name)}", query))
        answer["frequency"] = np.array(answer["frequency"], dtype=np.float64)
        answer["psd"] = np.array([[np.nan if p is None else p for p in c["psd"]] for c in answer["columns"]],
                                 dtype=np.float64)
        answer["peak_frequency"] = [c["peak_frequency"] for c in answer["columns"]]
        return answer

    def clock(self, name: str) -> dict | None:
        """The clock (start, start_ns, rate_hz) of an array without timestamps, or None."""
        try:
            return json.loads(self._request("GET", f"/api/clock/{_quote(name)}"))
        except errors.NotFound as missing:
            if "no clock" in str(missing):
                return None
            raise

    def set_clock(self, name: str, rate_hz: float, start=None) -> dict:
        """Give an array without timestamps a sample rate and a start (datetime64,
        datetime, ISO 8601 or int ns; default the epoch): its chart then reads in time and
        its spectrum in Hz."""
        body = json.dumps({"rate_hz": float(rate_hz), "start": _instant(start)}).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
        return json.loads(self._request("PUT", f"/api/clock/{_quote(name)}", body=body, headers=headers, auth=True))

    def remove_clock(self, name: str) -> None:
        """Remove the clock of `name`."""
        self._request("DELETE", f"/api/clock/{_quote(name)}", auth=True)

    def events(self) -> Iterator[Event]:
        """Live events as they happen (Server-Sent Events), until the stream ends.

        Events do not replay what happened before the call. A "dropped" event means this
        reader fell more than the server's buffer behind; the stream ends after it."""
        response = self._open("GET", "/api/events", [], None, {"Accept": "text/event-stream"}, stream=True)
        try:
            kind, data = "message", []
            while True:
                line = response.readline()
                if not line:
                    return
                line = line.decode("utf-8").rstrip("\r\n")
                if line == "":
                    if data:
                        yield Event(kind, json.loads("\n".join(data)))
                    kind, data = "message", []
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
        finally:
            response.close()

    # -- writing -------------------------------------------------------------------------

    def put(self, name: str, array) -> ArrayInfo:
        """Store `array` as `name`, replacing what was there (readers see the old array or
        the new one, whole). The array's memory is sent as it is, with no copy."""
        return self._write("PUT", name, array)

    def append(self, name: str, rows) -> ArrayInfo:
        """Append `rows` along axis 0 (same dtype and trailing shape; creates the array if
        there is none)."""
        return self._write("POST", name, rows)

    def put_many(self, arrays) -> list[ArrayInfo]:
        """Store several arrays ({name: array}) in one request, all or none: a reader sees
        the old set or the new one, never a mix. The body is streamed from the arrays' own
        buffers (a bundle), with no copy and no concatenation."""
        chunks, length = bundle_parts(arrays)
        headers = {"Content-Type": BUNDLE, "Content-Length": str(length)}
        body = self._request("PUT", "/api/bundle", body=chunks, headers=headers, auth=True)
        return [ArrayInfo.from_json(entry) for entry in json.loads(body)["arrays"]]

    def put_group(self, group: str, path_or_bytes) -> list[ArrayInfo]:
        """Replace the group `group` with the members of an .npz file (a path, or its bytes;
        `np.savez` or `np.savez_compressed`), all or none; the server unpacks it."""
        path = f"/api/arrays/{_quote(group)}"
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            headers = {"Content-Type": "application/zip", "Content-Length": str(memoryview(path_or_bytes).nbytes)}
            answer = self._request("PUT", path, body=[path_or_bytes], headers=headers, auth=True)
        else:
            with open(path_or_bytes, "rb") as file:  # streamed from disk by http.client
                headers = {"Content-Type": "application/zip", "Content-Length": str(os.fstat(file.fileno()).st_size)}
                answer = self._request("PUT", path, body=file, headers=headers, auth=True)
        return [ArrayInfo.from_json(entry) for entry in json.loads(answer)["arrays"]]

    def delete(self, name: str) -> None:
        """Remove the array `name`."""
        self._request("DELETE", f"/api/arrays/{_quote(name)}", auth=True)

    # -- pages ---------------------------------------------------------------------------

    def url(self, name: str, window=None, *, time: str | None = None, add: Sequence[str] = ()) -> str:
        """A link to the chart of `name` (an array or a group). `window` is (start, stop)
        sample indices, or (t0, t1) instants for a series with timestamps; `time` names the
        timestamps and `add` adds more arrays to the view, as the page's own address does."""
        query = []
        if time:
            query.append(("time", time))
        if add:
            query.append(("add", ",".join(add)))
        if window is not None:
            first, last = window
            if _is_index(first) and _is_index(last):
                query += [("start", int(first)), ("stop", int(last))]
            else:
                query += [("t0", _instant(first)), ("t1", _instant(last))]
        suffix = f"?{urllib.parse.urlencode(query, safe=',:/@')}" if query else ""
        return f"{self.url_base}/view/{_quote(name)}{suffix}"

    def show(self, name: str, window=None, *, height: int = 480, **view):
        """The chart in a Jupyter notebook (an IFrame of `url(name, window, ...)`)."""
        try:
            from IPython.display import IFrame
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("show() needs IPython (run it in Jupyter)") from err
        return IFrame(self.url(name, window, **view), width="100%", height=height)

    # -- transport -----------------------------------------------------------------------

    def _write(self, method: str, name: str, array) -> ArrayInfo:
        chunks, length = npy_parts(array)
        headers = {"Content-Type": NPY, "Content-Length": str(length)}
        body = self._request(method, f"/api/arrays/{_quote(name)}", body=chunks, headers=headers, auth=True)
        return ArrayInfo.from_json(json.loads(body))

    @staticmethod
    def _read_query(slice, dtype) -> list:
        query = []
        if slice is not None:
            query.append(("slice", _slice_text(slice)))
        if dtype is not None:
            query.append(("dtype", np.dtype(dtype).str))
        return query

    def _url(self, path: str, query=()) -> str:
        suffix = f"?{urllib.parse.urlencode(list(query))}" if query else ""
        return f"{self.url_base}{path}{suffix}"

    def _request(self, method, path, query=(), body=None, headers=None, auth=False) -> bytearray:
        """Send a request (retrying 503s) and return the whole body of its 2xx answer."""
        headers = dict(headers or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        attempt = 0
        while True:
            try:
                response = self._open(method, path, list(query), body, headers)
                return _read_body(response)
            except errors.Busy as busy:
                if attempt >= self.retries:
                    raise
                attempt += 1
                time.sleep(min(busy.retry_after, 10.0))

    def _open(self, method, path, query, body, headers, stream=False) -> http.client.HTTPResponse:
        """The response to one request, raised as a typed error unless it is 2xx."""
        target = f"{self._path}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        url = self._url(path, query)
        connection, fresh = self._connection(stream)
        try:
            try:
                response = _exchange(connection, method, target, body, headers)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed meanwhile: once more, on a new one.
                connection.close()
                if fresh:
                    raise
                connection, _ = self._connection(stream, new=True)
                response = _exchange(connection, method, target, body, headers)
        except OSError as err:
            connection.close()
            raise errors.Unreachable(str(err), method=method, url=url) from err
        if 200 <= response.status < 300:
            return response
        text = response.read().decode("utf-8", "replace")
        try:
            message = json.loads(text)["error"]
        except (ValueError, KeyError, TypeError):
            message = text.strip() or response.reason
        cls = errors.for_status(response.status)
        kwargs = dict(status=response.status, method=method, url=url)
        if cls is errors.Busy:
            kwargs["retry_after"] = float(response.getheader("Retry-After") or 1)
        raise cls(message, **kwargs)

    def _connection(self, stream: bool, new: bool = False):
        """This thread's kept-alive connection (and whether it is new); a stream gets its own."""
        kind = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        if stream:
            return kind(self._host, self._port, timeout=None), True
        connection = getattr(self._local, "connection", None)
        if connection is None or new:
            connection = kind(self._host, self._port, timeout=self.timeout)
            self._local.connection = connection
            return connection, True
        return connection, False


def _exchange(connection, method, target, body, headers) -> http.client.HTTPResponse:
    """Send one request and read its answer's head. A server that refuses an upload early
    (401, 413, 415) answers before it has read the body and closes the connection, so
    sending the rest fails; its answer is read all the same."""
    try:
        connection.request(method, target, body=body, headers=headers)
    except (BrokenPipeError, ConnectionResetError):
        if body is None:
            raise
    return connection.getresponse()


def _read_body(response: http.client.HTTPResponse) -> bytearray:
    """The whole body in one writable buffer, read in place when its length is known."""
    length = response.getheader("Content-Length")
    if length is None:
        return bytearray(response.read())
    buffer = bytearray(int(length))
    view, got = memoryview(buffer), 0
    while got < len(buffer):
        n = response.readinto(view[got:])
        if not n:
            raise errors.Unreachable(f"the answer ended after {got} of {len(buffer)} bytes")
        got += n
    response.read()  # the end of the message, so the connection can be reused
    return buffer


def _window(start, stop, t0, t1) -> list:
    """The query of a window: samples [start, stop) or instants [t0, t1)."""
    pairs = [("start", start), ("stop", stop), ("t0", _instant(t0)), ("t1", _instant(t1))]
    return [(k, v) for k, v in pairs if v is not None]


def _extra(**params) -> list:
    return [(k, v) for k, v in params.items() if v is not None]


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="/")


def _slice_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, slice):
        return ":".join("" if part is None else str(int(part)) for part in (value.start, value.stop, value.step))
    raise TypeError("slice must be a string like '10:20' or a Python slice")


def _is_index(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _instant(value):
    """An instant as the API takes it: int ns since the epoch, or ISO 8601 text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return int(np.datetime64(value, "ns").astype(np.int64))
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    raise TypeError(f"not an instant: {value!r}")


__all__ = ["ArrayInfo", "Client", "Event", "Lod"]
