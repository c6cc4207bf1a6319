"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS by run.sh): the binary bodies of
the write routes are sent as they are generated, like application/octet-stream."""

import schemathesis

schemathesis.serializer.alias(
    ["application/x-downlink-bundle", "application/zip", "application/x-npz"], "application/octet-stream"
)
