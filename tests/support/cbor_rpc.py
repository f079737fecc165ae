"""Smithy RPC v2 CBOR, which moto does not speak, in front of moto's JSON protocol.

The Rust SDK calls CloudWatch with the Smithy RPC v2 CBOR protocol (`smithy-protocol:
rpc-v2-cbor`, `POST /service/<target prefix>/operation/<operation>`, a CBOR body); moto
5.2.5 answers CloudWatch's JSON protocol only (the same service model, `X-Amz-Target:
<target prefix>.<operation>`, a JSON body). This turns the one into the other and the
answer back: the body decoded from CBOR and given to moto as JSON, moto's JSON answer
encoded as CBOR, its status kept, its timestamps (the JSON protocol's epoch seconds) as
CBOR epoch timestamps (tag 1), as the protocol wants them. Errors keep their `__type`.
"""

import io
import json

import cbor2

PREFIX = "/service/"


def is_cbor(environ):
    return environ.get("HTTP_SMITHY_PROTOCOL", "").lower() == "rpc-v2-cbor"


def _timestamps(value, key=""):
    if isinstance(value, dict):
        return {k: _timestamps(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_timestamps(v, key) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key.endswith("Timestamp"):
        return cbor2.CBORTag(1, value)
    return value


def _plain(value):
    """CBOR values as JSON has them: epoch timestamps as numbers, bytes as text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return value.value
    if hasattr(value, "timestamp"):
        return value.timestamp()
    if isinstance(value, bytes):
        return value.decode()
    return value


def handle(app, environ, start_response):
    """Answers one RPC v2 CBOR request through `app` (moto) in its JSON protocol."""
    path = environ.get("PATH_INFO", "")
    parts = path[len(PREFIX):].split("/") if path.startswith(PREFIX) else []
    if len(parts) != 3 or parts[1] != "operation":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not an RPC v2 operation path"]
    target = f"{parts[0]}.{parts[2]}"
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    request = _plain(cbor2.loads(raw)) if raw else {}
    body = json.dumps(request).encode()
    inner = dict(environ)
    for key in ("HTTP_SMITHY_PROTOCOL", "HTTP_X_AMZN_QUERY_MODE"):
        inner.pop(key, None)
    inner.update(
        {
            "PATH_INFO": "/",
            "CONTENT_TYPE": "application/x-amz-json-1.0",
            "HTTP_X_AMZ_TARGET": target,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
    )
    answer = {}

    def capture(status, headers, exc_info=None):
        answer["status"] = status
        answer["headers"] = headers

    chunks = b"".join(app(inner, capture))
    try:
        decoded = json.loads(chunks) if chunks.strip() else {}
    except ValueError:
        decoded = {"__type": "InternalFailure", "message": chunks.decode(errors="replace")}
    out = cbor2.dumps(_timestamps(decoded))
    headers = [
        (k, v)
        for k, v in answer.get("headers", [])
        if k.lower() not in ("content-type", "content-length")
    ]
    headers += [
        ("Content-Type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("Content-Length", str(len(out))),
    ]
    start_response(answer.get("status", "500 Internal Server Error"), headers)
    return [out]
