"""Seeds the dates IAM keeps about users' credentials, which moto sets to "now".

moto stamps every access key and user with the time it was made and marks a key used
only when it signs a request, so a test cannot make a key 120 days old. This route sets
them, on moto's own objects, so that GetAccessKeyLastUsed, ListAccessKeys and the
credential report all say the same:

    POST /_warden/credentials
    {"account": "123456789012", "user": "dev1",
     "created": "2025-01-01T00:00:00Z",              # the user's creation (optional)
     "password_last_used": "2026-01-01T00:00:00Z",   # (optional)
     "keys": {"<access key id>": {"created": "...", "last_used": "..." | null}}}

A key's `last_used` of null means never used.
"""

import datetime
import json

from moto.iam.models import AccessKeyLastUsed, iam_backends


def _time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(
        datetime.timezone.utc
    ).replace(tzinfo=None)


def seed(body):
    backend = iam_backends[body["account"]]["aws"]
    user = backend.get_user(body["user"])
    if "created" in body:
        user.create_date = _time(body["created"])
    if "password_last_used" in body:
        value = body["password_last_used"]
        user.password_last_used = _time(value) if value else None
    for key_id, dates in body.get("keys", {}).items():
        key = next(k for k in user.access_keys if k.access_key_id == key_id)
        if "created" in dates:
            key.create_date = _time(dates["created"])
        if "last_used" in dates:
            used = dates["last_used"]
            key.last_used = (
                AccessKeyLastUsed(_time(used), "s3", "us-east-1") if used else None
            )


def route(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    try:
        seed(json.loads(environ["wsgi.input"].read(length) or b"{}"))
    except (KeyError, StopIteration) as e:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [f"no such user or key: {e}".encode()]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok":true}']
