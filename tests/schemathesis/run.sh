#!/usr/bin/env bash
# Fuzz a running Downlink server against its own OpenAPI description (/api/openapi.json).
#
#   tests/schemathesis/run.sh http://127.0.0.1:3961
#
# Checks that no request gets a 5xx and that every response conforms to the document: a
# documented status code, a documented content type, JSON bodies and headers matching their
# schemas. Exits non-zero on any failure.
#
# The fuzzer writes: it PUTs, POSTs and DELETEs arrays. Run the server on a throw-away data
# directory (an empty one gets the demo data set), never on real data.
#
# Environment: PYTHON (default python3); SCHEMATHESIS_SEED (default 1, fixed so that CI runs
# the same cases every time; change it to explore); SCHEMATHESIS_MAX_EXAMPLES (default 300
# per operation and phase, about a minute on two cores).
set -euo pipefail

base="${1:?usage: $0 BASE_URL (e.g. http://127.0.0.1:3961)}"
base="${base%/}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

# The pinned version, so the flags below mean what they say.
pinned="$(sed -n 's/^schemathesis==//p' "$here/requirements.txt")"
if ! "$python" - "$pinned" <<'EOF' 2>/dev/null; then
import importlib.metadata, sys
import schemathesis  # noqa: F401
sys.exit(importlib.metadata.version("schemathesis") != sys.argv[1])
EOF
    echo "installing schemathesis $pinned from $here/requirements.txt" >&2
    "$python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

# The binary media types of the write routes (a bundle, an .npz) are sent as raw bytes.
export SCHEMATHESIS_HOOKS="${SCHEMATHESIS_HOOKS:-hooks}"
export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
# /api/events is an endless Server-Sent Events stream: there is no response to check.
# The example database is off, so nothing is written into the work tree and every run
# starts from the seed alone.
exec "$python" -m schemathesis.cli run "$base/api/openapi.json" \
    --url "$base" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --phases examples,coverage,fuzzing,stateful \
    --mode all \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-300}" \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --generation-database none \
    --exclude-path /api/events \
    --wait-for-schema 120 \
    --request-timeout 30 \
    --no-color
