"""downlink: a client for a Downlink server, with NumPy and the standard library only.

    import downlink
    dl = downlink.Client("http://127.0.0.1:3000")
    x = dl.get("demo/vibration", slice="0:1000")

Every error the server answers is raised as a subclass of `downlink.DownlinkError` that
carries the server's message (`downlink.NotFound`, `downlink.Conflict`, ...).
"""

from .client import ArrayInfo, Client, Event, Lod
from .errors import (
    BadRequest,
    Busy,
    Conflict,
    DownlinkError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RangeNotSatisfiable,
    RequestTimeout,
    ServerError,
    Unauthorized,
    Unprocessable,
    Unreachable,
    UnsupportedMediaType,
)
from .npy import read_bundle, read_npy

__version__ = "0.1.0"

__all__ = [
    "ArrayInfo",
    "BadRequest",
    "Busy",
    "Client",
    "Conflict",
    "DownlinkError",
    "Event",
    "Forbidden",
    "Lod",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RangeNotSatisfiable",
    "RequestTimeout",
    "ServerError",
    "Unauthorized",
    "Unprocessable",
    "Unreachable",
    "UnsupportedMediaType",
    "read_bundle",
    "read_npy",
]
