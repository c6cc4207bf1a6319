import io, json, urllib.request
import numpy as np

def npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()

def send(method: str, url: str, a: np.ndarray | None = None, token: str | None = None) -> int:
    req = urllib.request.Request(url, method=method, data=None if a is None else npy_bytes(a),
                                 headers={"Content-Type": "application/x-npy"})
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as r:
        return r.status

def example(base: str) -> np.ndarray:
    """Upload, append twice and read back `scripts/telemetry` (base = "http://127.0.0.1:3000")."""
    url = f"{base}/api/arrays/scripts/telemetry"
    send("PUT", url, np.zeros((3, 2), dtype="<f4"))                  # 201 created (200 if replaced)
    send("POST", url, np.ones((2, 2), dtype="<f4"))                  # 200 appended along axis 0
    send("POST", url, np.full((1, 2), 7, dtype="<f4"))
    with urllib.request.urlopen(url) as r:
        return np.load(io.BytesIO(r.read()))                          # shape (6, 2)
