"""Typed errors: one class per status the Downlink API answers, each carrying the server's
message (the `error` field of its JSON body)."""

from __future__ import annotations


class DownlinkError(Exception):
    """A request the server refused or could not answer.

    `status` is the HTTP status (0 when the server could not be reached), `message` the
    server's own explanation, `method` and `url` the request.
    """

    status = 0

    def __init__(self, message: str, *, status: int | None = None, method: str = "", url: str = ""):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.url else ""
        code = f"{self.status}: " if self.status else ""
        return f"{code}{self.message}{where}"


class BadRequest(DownlinkError, ValueError):
    """400: a bad name or parameter."""

    status = 400


class Unauthorized(DownlinkError, PermissionError):
    """401: a write without the right token."""

    status = 401


class Forbidden(DownlinkError, PermissionError):
    """403: a write from another machine while the server has no token configured."""

    status = 403


class NotFound(DownlinkError, LookupError):
    """404: no such array."""

    status = 404


class MethodNotAllowed(DownlinkError):
    """405: for example a write to a member of an .npz file."""

    status = 405


class RequestTimeout(DownlinkError, TimeoutError):
    """408: the request body stalled; nothing was stored."""

    status = 408


class Conflict(DownlinkError):
    """409: appended rows whose dtype or trailing shape differ from the array's."""

    status = 409


class PayloadTooLarge(DownlinkError):
    """413: a body over the server's upload limit; nothing was stored."""

    status = 413


class UnsupportedMediaType(DownlinkError):
    """415: a body with the wrong Content-Type."""

    status = 415


class RangeNotSatisfiable(DownlinkError):
    """416: a byte range outside the representation."""

    status = 416


class Unprocessable(DownlinkError):
    """422: an array that cannot be read, charted or converted as asked."""

    status = 422


class ServerError(DownlinkError):
    """5xx other than 503: a fault on the server's side."""

    status = 500


class Busy(ServerError):
    """503: heavy work refused for now; `retry_after` is the server's advice in seconds."""

    status = 503

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unreachable(DownlinkError, ConnectionError):
    """The server could not be reached, or the connection broke mid-answer."""


BY_STATUS = {
    cls.status: cls
    for cls in [
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        RangeNotSatisfiable,
        Unprocessable,
        Busy,
    ]
}


def for_status(status: int) -> type[DownlinkError]:
    """The class for an error status."""
    if status in BY_STATUS:
        return BY_STATUS[status]
    return ServerError if status >= 500 else DownlinkError
