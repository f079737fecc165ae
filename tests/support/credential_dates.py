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

A key's `last_used` of null means never used. `{"account", "role": name, "created": ...}`
dates a role's creation.

It also adds the root user's row to the credential report, which AWS always writes first
and moto leaves out, as AWS writes it (`<root_account>`, password columns
`not_supported` but its last use); seeded with

    POST /_warden/credentials
    {"account": "123456789012", "user": "<root_account>", "mfa": true,
     "password_last_used": "..." | null, "keys": [{"active": true, "created": "...",
     "last_used": "..." | null}]}

(unseeded: made with the account, no MFA, never used, no key).
"""

import datetime
import json

from moto.iam.models import AccessKeyLastUsed, IAMBackend, iam_backends

ROOT = "<root_account>"
ROOTS = {}  # account -> {"mfa", "password_last_used", "keys": [...], "created"}


def _time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(
        datetime.timezone.utc
    ).replace(tzinfo=None)


def seed(body):
    backend = iam_backends[body["account"]]["aws"]
    if body.get("user") == ROOT:
        root = ROOTS.setdefault(body["account"], {"mfa": False, "password_last_used": None, "keys": []})
        root.update({k: v for k, v in body.items() if k in ("mfa", "password_last_used", "keys")})
        return
    if "role" in body:
        backend.get_role(body["role"]).create_date = _time(body["created"])
        return
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


def _date(value):
    return value.replace("+00:00", "Z") if value else "N/A"


def _root_row(account):
    root = ROOTS.get(account, {"mfa": False, "password_last_used": None, "keys": []})
    created = root.get("created", "2020-01-01T00:00:00+00:00")
    keys = list(root["keys"]) + [None, None]
    cells = []
    for key in keys[:2]:
        if key is None:
            cells += ["false", "N/A", "N/A", "N/A", "N/A"]
        else:
            used = key.get("last_used")
            cells += ["true" if key.get("active", True) else "false", _date(key["created"]),
                      _date(used), "us-east-1" if used else "N/A", "s3" if used else "N/A"]
    password = root.get("password_last_used")
    return ",".join([ROOT, f"arn:aws:iam::{account}:root", created, "not_supported",
                     _date(password) if password else "no_information", "not_supported",
                     "not_supported", "true" if root.get("mfa") else "false", *cells,
                     "false", "N/A", "false", "N/A"]) + "\n"


_get_credential_report = IAMBackend.get_credential_report


def get_credential_report(self):
    report = _get_credential_report(self)
    header, _, rows = report.partition("\n")
    return header + "\n" + _root_row(self.account_id) + rows


IAMBackend.get_credential_report = get_credential_report


# AWS's managed policies exist in every account; moto loads them only with
# MOTO_IAM_LOAD_MANAGED_POLICIES (over a thousand per account: slow). The ones the tests
# attach are loaded, as AWS has them.
KEPT_AWS_POLICIES = ("AdministratorAccess",)
_init_aws_policies = IAMBackend._init_aws_policies


def _aws_policies(self):
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import AWSManagedPolicy

    loaded = _init_aws_policies(self)
    if loaded:
        return loaded
    data = json.loads(aws_managed_policies_data)
    return [AWSManagedPolicy.from_data(name, self.account_id, self.region_name, data[name])
            for name in KEPT_AWS_POLICIES if name in data]


IAMBackend._init_aws_policies = _aws_policies
