# Upload a file NumPy wrote, append more rows, read it back, delete it.
BASE=${BASE:-http://127.0.0.1:3000}
python3 -c 'import numpy as np; np.save("a.npy", np.arange(4, dtype="<f8")); np.save("b.npy", np.arange(4, 6, dtype="<f8"))'
curl -sf -X PUT  --data-binary @a.npy -H 'Content-Type: application/x-npy' "$BASE/api/arrays/scripts/ramp"
curl -sf -X POST --data-binary @b.npy -H 'Content-Type: application/x-npy' "$BASE/api/arrays/scripts/ramp"
curl -sf -o ramp.npy "$BASE/api/arrays/scripts/ramp"
curl -sf -X DELETE "$BASE/api/arrays/scripts/ramp" -o /dev/null -w '%{http_code}\n'
