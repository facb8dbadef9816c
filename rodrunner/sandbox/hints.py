"""``CLIENT_HINTS_AN`` (10215) for the sandbox: what the server tells any logged-in client
about itself, as iRODS 4.3 and 5.0 answer it (``server/api/src/rsClientHints.cpp``).

The reply is a ``BytesBuf_PI`` whose text is a JSON object: ``hash_scheme`` (the
``default_hash_scheme`` of the server's configuration, ``SHA256`` or ``MD5``),
``match_hash_policy`` (``compatible``), and the lists a real server fills from its plugins,
rules and specific queries (empty here). rodrunner reads ``hash_scheme`` from it to learn the
zone's checksum scheme.
"""

from __future__ import annotations

import json

from rodrunner.sandbox.dispatch import Context, Reply, Request, api
from rodrunner.sandbox.protocol import pack

CLIENT_HINTS_AN = 10215


@api(CLIENT_HINTS_AN)
def client_hints(ctx: Context, req: Request) -> Reply:
    """CLIENT_HINTS_AN: the server's hash scheme and match policy (JSON in a BytesBuf_PI)."""
    hints: dict[str, object] = {
        "specific_queries": [],
        "hash_scheme": "MD5" if ctx.vault.hash_scheme == "md5" else "SHA256",
        "match_hash_policy": "compatible",
        "plugins": [],
        "rules": [],
    }
    text = json.dumps(hints, indent=4)
    return Reply(msg=pack("BytesBuf_PI", [("buflen", len(text.encode())), ("buf", text)]))
