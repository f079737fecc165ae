"""moto server with IAM Access Advisor added.

moto has no GenerateServiceLastAccessedDetails / GetServiceLastAccessedDetails. This
launcher adds them to moto's IamResponse (moto dispatches IAM actions by method name)
and serves a seeding route, then runs moto's own server:

    python tests/support/moto_server.py -H 127.0.0.1 -p PORT

Granted services are computed from moto's real IAM state: the Allow statements of
the principal's inline and attached policies and of its groups' (an `Action: "*"`
grants every service botocore knows). Last-accessed times default to never and are
seeded with

    POST /_warden/access-advisor
    {"account": "123456789012", "principal": "<arn>",
     "services": {"s3": "2026-01-01T00:00:00Z"},   # merged into what was seeded
     "fail": null | "FAILED" | "STUCK",           # STUCK: the job never completes
     "polls": 0}                                  # IN_PROGRESS answers before COMPLETED

`DELETE /_warden/access-advisor` forgets every seed and job.

It also enforces what IAM enforces and moto does not, as AWS answers it: the quota of 10
managed policies per user and role, 50 tags per user and role, and the aggregate size of
a principal's inline policies (2,048 characters for a user, 10,240 for a role, whitespace
not counted): one more is `LimitExceeded`. And it adds permissions boundaries on users
(PutUserPermissionsBoundary, DeleteUserPermissionsBoundary, GetUser's
PermissionsBoundary), which moto has only for roles.

It enforces the account's quota of customer managed policies (1,500, or as seeded with
`POST /_warden/quota {"account": ..., "policies": N}`).

It resolves IAM names as IAM does, whatever their case (users, groups, roles), where
moto compares them exactly.

And it adds CloudTrail's LookupEvents, which moto lacks: the event history holds the
records the tests (and the demo) replay, seeded with

    POST /_warden/cloudtrail
    {"account": "123456789012", "records": [<CloudTrail record>, ...]}

and answers as AWS does: newest first, filtered by one lookup attribute (EventName,
EventId, Username, ReadOnly, EventSource, AccessKeyId) and the time range, 50 a page
with a NextToken. `DELETE /_warden/cloudtrail` forgets every record.

For containment and restore it keeps login profiles as AWS does (CreateLoginProfile stores
PasswordResetRequired; UpdateLoginProfile changes only what it names), rejects a Status
other than Active|Inactive on UpdateAccessKey, UpdateSSHPublicKey and
UpdateSigningCertificate (ValidationError), and adds service-specific credentials
(Create/Update/List/DeleteServiceSpecificCredential), which moto lacks.

STS AssumeRole refuses (AccessDenied) a role that does not exist and a caller the role's
trust policy does not admit, as AWS does; moto admits anyone into any ARN.

CloudWatch, which the Rust SDK calls in the Smithy RPC v2 CBOR protocol, is answered
through moto's JSON protocol (tests/support/cbor_rpc.py). Organizations enforces the SCP
quotas: 5,120 characters a document, five SCPs a target (tests/support/scp_quotas.py).
The dates IAM keeps about users' credentials (a key's creation and last use, a password's
last use), which moto sets to "now", are seeded with `POST /_warden/credentials`
(tests/support/credential_dates.py).
"""

import base64
import datetime
import inspect
import json
import random
import secrets
import string
import threading
import uuid

import botocore.session
import cbor_rpc
import credential_dates
import scp_quotas
import moto.server as server
from moto.core.responses import ActionResult
from moto.iam.exceptions import IAMException, LimitExceededException, NotFoundException, ValidationError
from moto.iam.models import IAMBackend, iam_backends
from moto.iam.responses import IamResponse
from moto.cloudtrail.responses import CloudTrailResponse

LOCK = threading.Lock()
SEEDS = {}  # (account, arn) -> {"services": {ns: iso}, "fail": str|None, "polls": int}
JOBS = {}  # job id -> {"account", "arn", "services": [(ns, iso|None)], "fail", "polls", "created"}
ALL_SERVICES = None


def all_services():
    global ALL_SERVICES
    if ALL_SERVICES is None:
        session = botocore.session.get_session()
        names = set()
        for name in session.get_available_services():
            try:
                prefix = session.get_service_model(name).signing_name
            except Exception:  # a model botocore cannot load: skip it
                continue
            names.add(prefix)
        ALL_SERVICES = sorted(names)
    return ALL_SERVICES


def statements(document):
    if isinstance(document, str):
        document = json.loads(document)
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def granted_by(document):
    services = set()
    for st in statements(document):
        if st.get("Effect") != "Allow":
            continue
        if "NotAction" in st:
            services.update(all_services())
            continue
        actions = st.get("Action", [])
        for action in [actions] if isinstance(actions, str) else actions:
            if action == "*":
                services.update(all_services())
            elif ":" in action:
                services.add(action.split(":", 1)[0].lower())
    return services


def managed_documents(entity):
    for policy in entity.managed_policies.values():
        for version in policy.versions:
            if version.is_default:
                yield version.document


def granted(account, arn):
    backend = iam_backends[account]["aws"]
    resource = arn.split(":", 5)[5]
    kind, _, rest = resource.partition("/")
    name = rest.rsplit("/", 1)[-1]
    documents = []
    if kind == "user":
        user = backend.get_user(name)
        documents += list(user.policies.values()) + list(managed_documents(user))
        for group in backend.get_groups_for_user(name):
            documents += list(group.policies.values()) + list(managed_documents(group))
    elif kind == "role":
        role = backend.get_role(name)
        documents += list(role.policies.values()) + list(managed_documents(role))
    services = set()
    for document in documents:
        services |= granted_by(document)
    return sorted(services)


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def generate_service_last_accessed_details(self):
    arn = self._get_param("Arn")
    account = self.current_account
    granted(account, arn)  # NoSuchEntity for a principal that does not exist
    with LOCK:
        seed = SEEDS.get((account, arn), {})
        last = seed.get("services", {})
        job_id = str(uuid.uuid4())
        JOBS[job_id] = {
            "account": account,
            "arn": arn,
            "services": [(ns, last.get(ns)) for ns in granted(account, arn)],
            "fail": seed.get("fail"),
            "polls": seed.get("polls", 0),
            "created": now(),
        }
    return ActionResult({"JobId": job_id})


def get_service_last_accessed_details(self):
    job_id = self._get_param("JobId")
    marker = int(self._get_param("Marker") or 0)
    max_items = int(self._get_param("MaxItems") or 100)
    with LOCK:
        job = JOBS.get(job_id)
        if job is None or job["account"] != self.current_account:
            raise NotFoundException(f"job {job_id} not found")
        base = {
            "JobType": "SERVICE_LEVEL",
            "JobCreationDate": job["created"],
            "JobCompletionDate": job["created"],
            "ServicesLastAccessed": [],
            "IsTruncated": False,
        }
        if job["fail"] == "STUCK" or job["polls"] > 0:
            job["polls"] = max(job["polls"] - 1, 0)
            return ActionResult(dict(base, JobStatus="IN_PROGRESS"))
        if job["fail"] == "FAILED":
            return ActionResult(
                dict(
                    base,
                    JobStatus="FAILED",
                    Error={"Message": "seeded failure", "Code": "InternalError"},
                )
            )
        page = job["services"][marker : marker + max_items]
        services = []
        for ns, last in page:
            item = {"ServiceName": ns.upper(), "ServiceNamespace": ns, "TotalAuthenticatedEntities": 0}
            if last:
                item["LastAuthenticated"] = datetime.datetime.fromisoformat(last.replace("Z", "+00:00"))
                item["LastAuthenticatedEntity"] = job["arn"]
                item["TotalAuthenticatedEntities"] = 1
            services.append(item)
        result = dict(base, JobStatus="COMPLETED", ServicesLastAccessed=services)
        if marker + max_items < len(job["services"]):
            result["IsTruncated"] = True
            result["Marker"] = str(marker + max_items)
        return ActionResult(result)


# IAM's quota of managed policies per user and role (AttachedPoliciesPer*Quota, 10 in
# moto's GetAccountSummary), which moto does not enforce: attaching one more is
# LimitExceeded, as in AWS. Re-attaching an attached policy is not.
QUOTA = 10
_attach_user, _attach_role = IAMBackend.attach_user_policy, IAMBackend.attach_role_policy


def _check_quota(entity, policy_arn):
    if policy_arn not in entity.managed_policies and len(entity.managed_policies) >= QUOTA:
        raise LimitExceededException(f"Cannot exceed quota for PoliciesPer{type(entity).__name__}: {QUOTA}")


def attach_user_policy(self, policy_arn, user_name):
    _check_quota(self.get_user(user_name), policy_arn)
    return _attach_user(self, policy_arn, user_name)


def attach_role_policy(self, policy_arn, role_name):
    _check_quota(self.get_role(role_name), policy_arn)
    return _attach_role(self, policy_arn, role_name)


IAMBackend.attach_user_policy = attach_user_policy
IAMBackend.attach_role_policy = attach_role_policy

# 50 tags per user and role.
TAG_QUOTA = 50
_tag_user, _tag_role = IAMBackend.tag_user, IAMBackend.tag_role


def _check_tags(existing, tags):
    keys = {t["Key"] for t in existing} | {t["Key"] for t in tags}
    if len(keys) > TAG_QUOTA:
        raise LimitExceededException(f"The number of tags has reached the maximum limit of {TAG_QUOTA}.")


def tag_user(self, name, tags):
    user = self.get_user(name)
    _check_tags(self.tagger.list_tags_for_resource(user.arn)["Tags"], tags)
    return _tag_user(self, name, tags)


def tag_role(self, role_name, tags):
    _check_tags(self.get_role(role_name).tags, tags)
    return _tag_role(self, role_name, tags)


IAMBackend.tag_user = tag_user
IAMBackend.tag_role = tag_role

# The aggregate size of a principal's inline policies, whitespace not counted.
INLINE_QUOTA = {"user": 2048, "role": 10240}
_put_user_policy, _put_role_policy = IAMBackend.put_user_policy, IAMBackend.put_role_policy


def _size(document):
    text = document if isinstance(document, str) else json.dumps(document)
    return sum(1 for c in text if not c.isspace())


def _check_inline(kind, name, policies, policy_name, document):
    total = sum(_size(d) for n, d in policies.items() if n != policy_name) + _size(document)
    if total > INLINE_QUOTA[kind]:
        raise LimitExceededException(
            f"Maximum policy size of {INLINE_QUOTA[kind]} bytes exceeded for {kind} {name}"
        )


def put_user_policy(self, user_name, policy_name, policy_json):
    _check_inline("user", user_name, self.get_user(user_name).policies, policy_name, policy_json)
    return _put_user_policy(self, user_name, policy_name, policy_json)


def put_role_policy(self, role_name, policy_name, policy_json):
    _check_inline("role", role_name, self.get_role(role_name).policies, policy_name, policy_json)
    return _put_role_policy(self, role_name, policy_name, policy_json)


IAMBackend.put_user_policy = put_user_policy
IAMBackend.put_role_policy = put_role_policy


# Permissions boundaries on users.
def _user_boundary(self):
    arn = getattr(self, "permissions_boundary_arn", None)
    if arn:
        return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}
    return None


from moto.iam.models import User  # noqa: E402

User.permissions_boundary = property(_user_boundary)


def put_user_permissions_boundary(self):
    arn = self._get_param("PermissionsBoundary")
    user = self.backend.get_user(self._get_param("UserName"))
    self.backend.get_policy(arn)  # NoSuchEntity for a boundary that does not exist, as in AWS
    user.permissions_boundary_arn = arn
    return ActionResult({})


def delete_user_permissions_boundary(self):
    user = self.backend.get_user(self._get_param("UserName"))
    user.permissions_boundary_arn = None
    return ActionResult({})


IamResponse.put_user_permissions_boundary = put_user_permissions_boundary
IamResponse.delete_user_permissions_boundary = delete_user_permissions_boundary


# Login profiles as AWS keeps them. moto's CreateLoginProfile drops PasswordResetRequired
# (GetLoginProfile then always says false), and its UpdateLoginProfile sets whatever it
# is given: without Password the password becomes None and the profile vanishes, without
# PasswordResetRequired the flag becomes None. AWS stores the flag on create, and on
# update changes only what the request names.
def create_login_profile(self):
    user_name = self._get_param("UserName")
    user = self.backend.create_login_profile(user_name, self._get_param("Password"))
    user.password_reset_required = bool(self._get_param("PasswordResetRequired"))
    return ActionResult(
        {
            "LoginProfile": {
                "UserName": user.name,
                "CreateDate": user.create_date,
                "PasswordResetRequired": user.password_reset_required,
            }
        }
    )


def update_login_profile(self, user_name, password, password_reset_required):
    user = self.get_user(user_name)
    if not user.password:
        raise NotFoundException(f"Login profile for {user_name} not found")
    if password is not None:
        user.password = password
    if password_reset_required is not None:
        user.password_reset_required = bool(password_reset_required)
    return user


_delete_login_profile = IAMBackend.delete_login_profile


def delete_login_profile(self, user_name):
    _delete_login_profile(self, user_name)
    self.get_user(user_name).password_reset_required = False  # a new profile starts clean


IamResponse.create_login_profile = create_login_profile
IAMBackend.update_login_profile = update_login_profile
IAMBackend.delete_login_profile = delete_login_profile


# IAM names are case-insensitive, as IAM has them: `AddUserToGroup --group-name
# administrators --user-name ALICE` adds alice to Administrators, and a user, group or
# role cannot be created under another's name in another case. moto keys them as
# given: its user and group dicts become case-insensitive (keeping the names as created),
# and a role is found, or refused as a duplicate, whatever the case.
class _IamNames(dict):
    def _key(self, name):
        if isinstance(name, str) and not dict.__contains__(self, name):
            for k in dict.keys(self):
                if isinstance(k, str) and k.lower() == name.lower():
                    return k
        return name

    def __getitem__(self, name):
        return dict.__getitem__(self, self._key(name))

    def __contains__(self, name):
        return dict.__contains__(self, self._key(name))

    def __delitem__(self, name):
        dict.__delitem__(self, self._key(name))

    def get(self, name, default=None):
        return dict.get(self, self._key(name), default)

    def pop(self, name, *default):
        return dict.pop(self, self._key(name), *default)


_iam_init = IAMBackend.__init__


def _case_insensitive_init(self, *args, **kwargs):
    _iam_init(self, *args, **kwargs)
    self.users = _IamNames(self.users)
    self.groups = _IamNames(self.groups)


IAMBackend.__init__ = _case_insensitive_init

_get_role = IAMBackend.get_role
_create_role = IAMBackend.create_role


def get_role(self, role_name):
    for role in self.get_roles():
        if role.name.lower() == role_name.lower():
            return role
    return _get_role(self, role_name)


def create_role(self, role_name, *args, **kwargs):
    if any(r.name.lower() == role_name.lower() for r in self.get_roles()):
        from moto.iam.exceptions import EntityAlreadyExists

        raise EntityAlreadyExists(f"Role with name {role_name} already exists.")
    return _create_role(self, role_name, *args, **kwargs)


IAMBackend.get_role = get_role
IAMBackend.create_role = create_role

# IAM Identity Center's roles (at /aws-reserved/sso.amazonaws.com/) are protected: AWS
# refuses every IAM write to them ("UnmodifiableEntity ... only modifiable by AWS"); moto
# does not. A test makes one with CreateRole at that path, standing in for Identity Center.
PROTECTED_PATH = "/aws-reserved/sso.amazonaws.com/"


class UnmodifiableEntity(IAMException):
    code = "UnmodifiableEntity"

    def __init__(self, name):
        super().__init__(
            f"Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"
        )


def _protect(method):
    original = getattr(IAMBackend, method)
    signature = inspect.signature(original)

    def guarded(self, *args, **kwargs):
        name = signature.bind(self, *args, **kwargs).arguments.get("role_name")
        if name is not None:
            role = next((r for r in self.get_roles() if r.name.lower() == str(name).lower()), None)
            if role is not None and role.path.startswith(PROTECTED_PATH):
                raise UnmodifiableEntity(role.name)
        return original(self, *args, **kwargs)

    setattr(IAMBackend, method, guarded)


for _method in ("attach_role_policy", "detach_role_policy", "put_role_policy", "delete_role_policy",
                "put_role_permissions_boundary", "delete_role_permissions_boundary",
                "update_assume_role_policy", "tag_role", "untag_role", "update_role",
                "update_role_description", "delete_role"):
    _protect(_method)

# The account's quota of customer managed policies (1,500 by default; IAM answers
# LimitExceeded at it), which moto does not have. Seeded per account with
#     POST /_warden/quota {"account": "123456789012", "policies": 20}
# so that a test fills it in a few calls instead of 1,500.
POLICY_QUOTA = {}  # account -> customer managed policies allowed
_create_policy = IAMBackend.create_policy


def create_policy(self, *args, **kwargs):
    from moto.iam.models import AWSManagedPolicy

    quota = POLICY_QUOTA.get(self.account_id, 1500)
    own = [p for p in self.managed_policies.values() if not isinstance(p, AWSManagedPolicy)]
    if len(own) >= quota:
        raise LimitExceededException(f"Cannot exceed quota for PoliciesPerAccount: {quota}")
    return _create_policy(self, *args, **kwargs)


IAMBackend.create_policy = create_policy


def quota_route(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    with LOCK:
        POLICY_QUOTA[body["account"]] = int(body["policies"])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok":true}']


# Status on UpdateAccessKey, UpdateSSHPublicKey and UpdateSigningCertificate is required
# and one of Active|Inactive; moto stores any string (and ignores a missing one). AWS
# answers ValidationError (400) before looking anything up.
def _check_status(status):
    if status is None:
        raise ValidationError(
            "1 validation error detected: Value null at 'status' failed to satisfy constraint: "
            "Member must not be null"
        )
    if status not in ("Active", "Inactive"):
        raise ValidationError(
            f"1 validation error detected: Value '{status}' at 'status' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Active, Inactive]"
        )


def _status_checked(original):
    def handler(self):
        _check_status(self._get_param("Status"))
        return original(self)

    return handler


for _action in ("update_access_key", "update_ssh_public_key", "update_signing_certificate"):
    setattr(IamResponse, _action, _status_checked(getattr(IamResponse, _action)))


# Service-specific credentials (Create/Update/List/Delete ServiceSpecificCredential),
# which moto lacks. As in AWS: the user must exist (NoSuchEntity), only services that
# issue them are accepted (NotSupportedService), at most 2 per user and service
# (LimitExceeded), the id is ACCA + 17 characters, the service user name is
# <user>-at-<account>, and the password is returned only by Create. They are kept on the
# user, so they go when the user does.
SSC_SERVICES = ("codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com")
SSC_QUOTA = 2


def _check_service(service):
    if service not in SSC_SERVICES:
        raise IAMException(
            "NotSupportedService", f"Service {service} does not support service-specific credentials."
        )


def _ssc(user):
    if not hasattr(user, "service_specific_credentials"):
        user.service_specific_credentials = []
    return user.service_specific_credentials


def _ssc_metadata(cred):
    return {k: v for k, v in cred.items() if k != "ServicePassword"}


def _ssc_find(self, credential_id):
    """The credential and its user: the named user's, else the caller's, else any user's
    (as moto's UpdateAccessKey finds a key without UserName)."""
    user_name = self._get_param("UserName")
    if user_name:
        users = [self.backend.get_user(user_name)]
    else:
        caller = self.backend.get_user_from_access_key_id(self.get_access_key())
        users = [caller] if caller else list(self.backend.users.values())
    for user in users:
        for cred in _ssc(user):
            if cred["ServiceSpecificCredentialId"] == credential_id:
                return user, cred
    raise NotFoundException(f"No such entity: service-specific credential {credential_id}.")


def create_service_specific_credential(self):
    user = self.backend.get_user(self._get_param("UserName"))
    service = self._get_param("ServiceName")
    _check_service(service)
    with LOCK:
        creds = _ssc(user)
        if sum(1 for c in creds if c["ServiceName"] == service) >= SSC_QUOTA:
            raise LimitExceededException(
                f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {SSC_QUOTA}"
            )
        cred = {
            "CreateDate": now(),
            "ServiceName": service,
            "ServiceUserName": f"{user.name}-at-{self.current_account}",
            "ServicePassword": base64.b64encode(secrets.token_bytes(32)).decode(),
            "ServiceSpecificCredentialId": "ACCA"
            + "".join(random.choices(string.ascii_uppercase + string.digits, k=17)),
            "UserName": user.name,
            "Status": "Active",
        }
        days = self._get_param("CredentialAgeDays")
        if days:
            cred["ExpirationDate"] = cred["CreateDate"] + datetime.timedelta(days=int(days))
        creds.append(cred)
    return ActionResult({"ServiceSpecificCredential": cred})


def update_service_specific_credential(self):
    status = self._get_param("Status")
    _check_status(status)
    _, cred = _ssc_find(self, self._get_param("ServiceSpecificCredentialId"))
    cred["Status"] = status
    return ActionResult({})


def delete_service_specific_credential(self):
    user, cred = _ssc_find(self, self._get_param("ServiceSpecificCredentialId"))
    with LOCK:
        _ssc(user).remove(cred)
    return ActionResult({})


def list_service_specific_credentials(self):
    user_name, service = self._get_param("UserName"), self._get_param("ServiceName")
    if service is not None:
        _check_service(service)
    if user_name:
        users = [self.backend.get_user(user_name)]  # NoSuchEntity for a user that does not exist
    elif self._get_param("AllUsers"):
        users = list(self.backend.users.values())
    else:  # the caller; the root user has none
        caller = self.backend.get_user_from_access_key_id(self.get_access_key())
        users = [caller] if caller else []
    found = [
        _ssc_metadata(c)
        for u in users
        for c in _ssc(u)
        if service is None or c["ServiceName"] == service
    ]
    return ActionResult({"ServiceSpecificCredentials": found, "IsTruncated": False})


IamResponse.create_service_specific_credential = create_service_specific_credential
IamResponse.update_service_specific_credential = update_service_specific_credential
IamResponse.delete_service_specific_credential = delete_service_specific_credential
IamResponse.list_service_specific_credentials = list_service_specific_credentials

IamResponse.generate_service_last_accessed_details = generate_service_last_accessed_details
IamResponse.get_service_last_accessed_details = get_service_last_accessed_details


TRAIL = {}  # account -> [CloudTrail record]
LOOKUP_KEYS = {
    "EventName": lambda r: r.get("eventName"),
    "EventId": lambda r: r.get("eventID"),
    "Username": lambda r: (r.get("userIdentity") or {}).get("userName"),
    "ReadOnly": lambda r: str(r.get("readOnly", False)).lower(),
    "EventSource": lambda r: r.get("eventSource"),
    "AccessKeyId": lambda r: (r.get("userIdentity") or {}).get("accessKeyId"),
}


def _time(record):
    return datetime.datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00"))


def _epoch(value):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def lookup_events(self):
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        from moto.cloudtrail.exceptions import InvalidParameterCombinationException

        raise InvalidParameterCombinationException("only one lookup attribute is allowed")
    start, end = _epoch(self._get_param("StartTime")), _epoch(self._get_param("EndTime"))
    token = int(self._get_param("NextToken") or 0)
    limit = min(int(self._get_param("MaxResults") or 50), 50)
    with LOCK:
        records = list(TRAIL.get(self.current_account, []))
    found = []
    for r in sorted(records, key=_time, reverse=True):
        if start and _time(r) < start or end and _time(r) > end:
            continue
        if attributes:
            key, value = attributes[0]["AttributeKey"], attributes[0]["AttributeValue"]
            if LOOKUP_KEYS[key](r) != value:
                continue
        found.append(r)
    page = found[token : token + limit]
    events = [
        {
            "EventId": r.get("eventID"),
            "EventName": r.get("eventName"),
            "ReadOnly": str(r.get("readOnly", False)).lower(),
            "EventTime": _time(r).timestamp(),
            "EventSource": r.get("eventSource"),
            "Username": (r.get("userIdentity") or {}).get("userName"),
            "Resources": [],
            "CloudTrailEvent": json.dumps(r),
        }
        for r in page
    ]
    body = {"Events": events}
    if token + limit < len(found):
        body["NextToken"] = str(token + limit)
    return json.dumps(body)


CloudTrailResponse.lookup_events = lookup_events


def trail_route(environ, start_response):
    method = environ["REQUEST_METHOD"]
    with LOCK:
        if method == "DELETE":
            TRAIL.clear()
        elif method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            TRAIL.setdefault(body["account"], []).extend(body.get("records", []))
        else:
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
            return [b"POST or DELETE"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok":true}']


def seed_route(environ, start_response):
    method = environ["REQUEST_METHOD"]
    with LOCK:
        if method == "DELETE":
            SEEDS.clear()
            JOBS.clear()
        elif method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            items = body if isinstance(body, list) else [body]
            for item in items:
                key = (item["account"], item["principal"])
                seed = SEEDS.setdefault(key, {"services": {}, "fail": None, "polls": 0})
                seed["services"].update(item.get("services", {}))
                if "fail" in item:
                    seed["fail"] = item["fail"]
                if "polls" in item:
                    seed["polls"] = item["polls"]
        else:
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
            return [b"POST or DELETE"]
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok":true}']


# STS AssumeRole as AWS answers it: moto hands out credentials for any role ARN, existing
# or not, whatever its trust policy. AWS refuses (AccessDenied) a role that does not
# exist and a caller its trust policy does not admit: an Allow naming the caller's
# principal ARN, its account (`<id>` or `arn:aws:iam::<id>:root`) or `*`, with its
# conditions on aws:PrincipalArn (ArnEquals/ArnLike/StringEquals/StringLike) met, and no
# Deny. (An account principal stands for the account's principals allowed to assume the
# role by their own policies, which this support does not evaluate.)
from fnmatch import fnmatchcase

from moto.sts.exceptions import STSClientError
from moto.sts.responses import TokenResponse as STSResponse


class AssumeRoleDenied(STSClientError):
    code = "AccessDenied"

    def __init__(self, caller, role_arn):
        super().__init__(
            "AccessDenied",
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )


def _principal_arn(caller_arn):
    """The IAM principal behind a caller ARN (an assumed role's is its role)."""
    parts = caller_arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "sts" and parts[5].startswith("assumed-role/"):
        # The role's ARN, path included, as AWS gives aws:PrincipalArn (the session's ARN
        # has no path).
        name = parts[5].split("/")[1]
        role = next((r for r in iam_backends[parts[4]]["aws"].get_roles() if r.name == name), None)
        return role.arn if role is not None else f"arn:{parts[1]}:iam::{parts[4]}:role/{name}"
    if len(parts) == 6 and parts[2] == "sts":
        return f"arn:{parts[1]}:iam::{parts[4]}:{parts[5]}"
    return caller_arn


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _admits(statement, principal, account):
    actions = [a.lower() for a in _as_list(statement.get("Action", []))]
    if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
        return False
    named = statement.get("Principal", {})
    if named == "*":
        aws = ["*"]
    else:
        aws = _as_list(named.get("AWS", [])) if isinstance(named, dict) else []
    if not any(p in ("*", principal, account, f"arn:aws:iam::{account}:root") for p in aws):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        for key, values in keys.items():
            if key.lower() != "aws:principalarn":
                return False  # a condition this support cannot evaluate is not met
            values = _as_list(values)
            if operator in ("ArnEquals", "StringEquals"):
                if principal not in values:
                    return False
            elif operator in ("ArnLike", "StringLike"):
                if not any(fnmatchcase(principal, v) for v in values):
                    return False
            else:
                return False
    return True


_sts_assume_role = STSResponse.assume_role


def assume_role(self):
    role_arn = self._get_param("RoleArn") or ""
    caller = self.backend.get_caller_identity(self.get_access_key(), self.region)[1]
    principal = _principal_arn(caller)
    account = principal.split(":")[4] if principal.count(":") >= 5 else ""
    parts = role_arn.split(":", 5)
    role = None
    if len(parts) == 6 and parts[5].startswith("role/"):
        backend = iam_backends[parts[4]]["aws"]
        name = parts[5].split("/")[-1]
        role = next((r for r in backend.get_roles() if r.name.lower() == name.lower()), None)
    if role is None:
        raise AssumeRoleDenied(caller, role_arn)
    document = role.assume_role_policy_document
    if isinstance(document, str):
        document = json.loads(document)
    statements = _as_list(document.get("Statement", []))
    if any(s.get("Effect") == "Deny" and _admits(s, principal, account) for s in statements):
        raise AssumeRoleDenied(caller, role_arn)
    if not any(s.get("Effect") == "Allow" and _admits(s, principal, account) for s in statements):
        raise AssumeRoleDenied(caller, role_arn)
    return _sts_assume_role(self)


STSResponse.assume_role = assume_role


class App(server.DomainDispatcherApplication):
    def __call__(self, environ, start_response):
        if cbor_rpc.is_cbor(environ):
            return cbor_rpc.handle(super().__call__, environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/_warden/access-advisor"):
            return seed_route(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/_warden/cloudtrail"):
            return trail_route(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/_warden/quota"):
            return quota_route(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/_warden/credentials"):
            return credential_dates.route(environ, start_response)
        return super().__call__(environ, start_response)


server.DomainDispatcherApplication = App
scp_quotas.install()

if __name__ == "__main__":
    server.main()
