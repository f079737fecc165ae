"""The demo's attack chain and its containment.

`attack`: eve, a developer whose key was stolen, makes a backdoor in the minutes before
CloudTrail delivers her calls: a user with an admin-like policy, an access key and a
console password, a group membership, an inline policy and an opened trust policy on the
role `deployer`, and the same policy on alice (an admin). Then she mints an access key for
alice and, with it, adds the backdoor to the admin group "as alice". IAM applies the calls at once;
their CloudTrail records are written to target/demo-attack/, for demo_put_events.py. The state they left is saved, to compare after `warden restore`.

`contained` (after the revoker consumed them): shows what iam-warden contained and the
notices; `restored` (after `warden restore --user eve`): shows that IAM is back as the
attack left it. With --check, each fails unless it is so.
"""
import datetime
import json
import os
import sys

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "target", "demo-attack")
STATE = os.path.join(ROOT, "target", "demo-attack-state.json")
CHECK = "--check" in sys.argv
iam = boto3.client("iam")
sqs = boto3.client("sqs")
account = boto3.client("sts").get_caller_identity()["Account"]
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
OUTSIDE = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]})
BACKDOOR = "svc-backup"


def state():
    """What the attack changed and containment undoes, as IAM reports it."""
    keys = iam.list_access_keys(UserName=BACKDOOR)["AccessKeyMetadata"]
    try:
        login = iam.get_login_profile(UserName=BACKDOOR)["LoginProfile"].get("PasswordResetRequired", False)
        login = "reset required" if login else "set"
    except iam.exceptions.NoSuchEntityException:
        login = "none"
    return {
        f"user/{BACKDOOR} policies": sorted(p["PolicyArn"].split("/")[-1] for p in iam.list_attached_user_policies(UserName=BACKDOOR)["AttachedPolicies"]),
        f"user/{BACKDOOR} keys": [f"{k['AccessKeyId']} {k['Status']}" for k in keys],
        f"user/{BACKDOOR} console password": login,
        f"user/{BACKDOOR} groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=BACKDOOR)["Groups"]),
        "role/deployer policies": sorted(p["PolicyArn"].split("/")[-1] for p in iam.list_attached_role_policies(RoleName="deployer")["AttachedPolicies"]),
        "role/deployer inline": sorted(iam.list_role_policies(RoleName="deployer")["PolicyNames"]),
        "user/alice policies": sorted(p["PolicyArn"].split("/")[-1] for p in iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]),
        "user/alice keys": sorted(f"{k['AccessKeyId']} {k['Status']}" for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]),
    }


def show(title, s):
    print(f"\n=== {title} ===")
    for k, v in s.items():
        print(f"  {k:<34} {v}")


def record(n, name, request, response=None, caller="eve", key="AKIAEVESTOLENKEY0000"):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    user = iam.get_user(UserName=caller)["User"]
    return {
        "version": "0", "id": f"eb-attack-{n}", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
        "account": account, "time": now, "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.09", "eventTime": now, "eventSource": "iam.amazonaws.com", "eventName": name,
            "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.66", "userAgent": "aws-cli/2.17.0",
            "userIdentity": {"type": "IAMUser", "principalId": user["UserId"], "arn": user["Arn"], "accountId": account,
                             "accessKeyId": key, "userName": caller},
            "requestParameters": request, "responseElements": response,
            "eventID": f"00000000-0000-4000-8000-a77ac4{n:06d}", "readOnly": False, "eventType": "AwsApiCall",
            "managementEvent": True, "recipientAccountId": account,
        },
    }


def attack():
    iam.create_user(UserName="eve")
    iam.add_user_to_group(GroupName="Developers", UserName="eve")
    ops = iam.create_policy(PolicyName="OpsFullAccess", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    # eve's calls, as IAM applies them.
    iam.create_user(UserName=BACKDOOR)
    iam.attach_user_policy(UserName=BACKDOOR, PolicyArn=ops)
    key = iam.create_access_key(UserName=BACKDOOR)["AccessKey"]["AccessKeyId"]
    iam.create_login_profile(UserName=BACKDOOR, Password="Eve-Was-Here-2026!")
    iam.add_user_to_group(GroupName="Developers", UserName=BACKDOOR)
    iam.put_role_policy(RoleName="deployer", PolicyName="ops", PolicyDocument=ALLOW_ALL)
    iam.update_assume_role_policy(RoleName="deployer", PolicyDocument=OUTSIDE)
    iam.attach_user_policy(UserName="alice", PolicyArn=ops)
    # A key for alice, and with it the backdoor made an admin "by alice".
    minted = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.add_user_to_group(GroupName="Administrators", UserName=BACKDOOR)
    events = [
        record(1, "CreateUser", {"userName": BACKDOOR}, {"user": {"userName": BACKDOOR, "path": "/"}}),
        record(2, "AttachUserPolicy", {"userName": BACKDOOR, "policyArn": ops}),
        record(3, "CreateAccessKey", {"userName": BACKDOOR}, {"accessKey": {"accessKeyId": key, "userName": BACKDOOR, "status": "Active"}}),
        record(4, "CreateLoginProfile", {"userName": BACKDOOR, "passwordResetRequired": False}, {"loginProfile": {"userName": BACKDOOR, "passwordResetRequired": False}}),
        record(5, "AddUserToGroup", {"groupName": "Developers", "userName": BACKDOOR}),
        record(6, "PutRolePolicy", {"roleName": "deployer", "policyName": "ops", "policyDocument": ALLOW_ALL}),
        record(7, "UpdateAssumeRolePolicy", {"roleName": "deployer", "policyDocument": OUTSIDE}),
        record(8, "AttachUserPolicy", {"userName": "alice", "policyArn": ops}),
        record(9, "CreateAccessKey", {"userName": "alice"}, {"accessKey": {"accessKeyId": minted, "userName": "alice", "status": "Active"}}),
        record(10, "AddUserToGroup", {"groupName": "Administrators", "userName": BACKDOOR}, caller="alice", key=minted),
    ]
    os.makedirs(OUT, exist_ok=True)
    for i, e in enumerate(events, 1):
        with open(os.path.join(OUT, f"{i:02d}-{e['detail']['eventName']}.json"), "w") as f:
            json.dump(e, f)
    s = state()
    with open(STATE, "w") as f:
        json.dump(s, f)
    show("IAM as eve's calls left it (before their events arrive)", s)


def drain():
    notices = []
    while True:
        got = sqs.receive_message(QueueUrl=os.environ["DEMO_INBOX_URL"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return notices
        for m in got:
            notices.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=os.environ["DEMO_INBOX_URL"], ReceiptHandle=m["ReceiptHandle"])


def contained():
    s = state()
    show("IAM after containment", s)
    notices = drain()
    print("\n=== Notifications ===")
    for n in notices:
        print(f"  {n.get('Subject')}")
    first = next((n for n in notices if n.get("MessageAttributes", {}).get("decision", {}).get("Value") == "revoked"), None)
    if first:
        print("\n--- the revocation notice, as an e-mail subscriber reads it ---")
        print(first["Message"].split("--- machine-readable ---")[0])
    if not CHECK:
        return
    problems = []
    expected = {
        f"user/{BACKDOOR} policies": ["iam-warden-quarantine"],
        f"user/{BACKDOOR} console password": "none",
        f"user/{BACKDOOR} groups": [],
        "role/deployer policies": ["iam-warden-quarantine"],
        # iam-warden-sessions: the CI session revoked alone earlier (event 6)
        "role/deployer inline": ["iam-warden-revoke-older-sessions", "iam-warden-sessions"],
        "user/alice policies": ["OpsFullAccess"],
    }
    for k, v in expected.items():
        if s[k] != v:
            problems.append(f"{k}: {s[k]} != {v}")
    if not all(k.endswith("Inactive") for k in s[f"user/{BACKDOOR} keys"]):
        problems.append(f"the key is still active: {s[f'user/{BACKDOOR} keys']}")
    if not all(k.endswith("Inactive") for k in s["user/alice keys"]):
        problems.append(f"the key minted for alice is still active: {s['user/alice keys']}")
    if len(notices) != 10:
        problems.append(f"{len(notices)} notices, not 10 (the revocation, then one per later call)")
    minted = [n for n in notices if "made with the access key" in n.get("Message", "")]
    if not minted or "user/eve" not in minted[0]["Message"]:
        problems.append("no notice says the call made with alice's minted key was eve's")
    if problems:
        sys.exit("demo check failed (containment): " + "; ".join(problems))
    print("demo check: eve's backdoor user quarantined, its key inactive, its password and memberships removed,"
          " the role's inline policy deleted, the role quarantined and its sessions revoked; alice's grant left, reported;"
          " the key eve minted for alice inactive, and the grant made with it undone as eve's")


def restored():
    with open(STATE) as f:
        before = json.load(f)
    s = state()
    # The console password comes back as a new random one, to be changed at next sign-in.
    before[f"user/{BACKDOOR} console password"] = "reset required"
    show("IAM after warden restore --user eve", s)
    drain()
    if CHECK and s != before:
        sys.exit(f"demo check failed (restore): {s} != {before}")
    if CHECK:
        print("demo check: warden restore put back exactly what the attack left (with a new console password)")


{"attack": attack, "contained": contained, "restored": restored}[sys.argv[1]]()
