"""Prints the demo's summary: the decisions `warden replay` printed, the IAM state that
goes with them, and the notifications that reached the topic's e-mail stand-in."""
import collections
import json
import os
import sys

import boto3

decisions = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
# With --check, the demo is a test: the decisions and notices of the decision table.
CHECK = "--check" in sys.argv
EXPECTED = {"revoked": 6, "already-revoked": 3, "ignored": 4, "alerted": 3, "exempt": 2}
# The trust baseline (warden init), a revocation each, alerts; mallory's second
# escalation, made after she was revoked, is notified as already-revoked.
# dev3's DisableRule on the IAM rule (event 18): a tampering notice (dev3 was revoked already).
# dev1's AttachUserPolicy on `backdoor` (event 2, after dev1's revocation) is contained,
# but the user does not exist in the demo ("already gone"): nothing to notify.
# A session of role deployer (event 6, ROLE_MODE=session) is revoked alone, and traced to
# dev1, who assumed the role (its source: one notice).
# Two baselines (warden init): the trusted admins and exempt principals, and the pipeline
# roles whose sessions wrote IAM last week (cfn-deploy).
EXPECTED_NOTICES = {"baseline": 2, "revoked": 6, "alerted": 3, "already-revoked": 1, "tampering": 1, "source": 1}
iam = boto3.client("iam")
sqs = boto3.client("sqs")

print("\n=== Decisions ===")
for d in decisions:
    who = d["principal"].split(":")[-1] if d["principal"].startswith("arn:") else d["principal"]
    print(f"  {d['decision']:<16} {d['event_name'] or '-':<26} {who:<45} {d['reason']}")
counts = collections.Counter(d["decision"] for d in decisions)
print("  " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))

print("\n=== IAM state ===")
deny = os.environ["DENY_POLICY_ARN"]
for user in iam.list_users()["Users"]:
    name = user["UserName"]
    attached = {p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]}
    inline = iam.list_user_policies(UserName=name)["PolicyNames"]
    state = "deny attached" if deny in attached else ("inline deny" if "iam-warden-deny-iam" in inline else "untouched")
    tags = {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"] if t["Key"].startswith("iam-warden:")}
    print(f"  user/{name:<12} {state:<14} {tags if tags else ''}")

# A role session revoked alone (ROLE_MODE=session): the role's inline policy denies IAM to
# that session's aws:userid, and to no other session of the role.
role_id = iam.get_role(RoleName="deployer")["Role"]["RoleId"]
try:
    doc = iam.get_role_policy(RoleName="deployer", PolicyName="iam-warden-sessions")["PolicyDocument"]
    denied = doc["Statement"][0]["Condition"]["StringEquals"]["aws:userid"]
except iam.exceptions.NoSuchEntityException:
    denied = []
denied = [denied] if isinstance(denied, str) else denied
print(f"  role/deployer     sessions denied IAM: {denied}; every other session of the role keeps working")
no_assume = "iam-warden-no-assume" in iam.list_user_policies(UserName="dev1")["PolicyNames"]
print(f"  user/dev1         the session's source: {'denied assuming deployer again' if no_assume else 'not stopped'}")

print("\n=== Notifications (SNS topic -> subscribed queue) ===")
notices = []
while True:
    got = sqs.receive_message(QueueUrl=os.environ["DEMO_INBOX_URL"], MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    if not got:
        break
    for m in got:
        notices.append(json.loads(m["Body"]))
        sqs.delete_message(QueueUrl=os.environ["DEMO_INBOX_URL"], ReceiptHandle=m["ReceiptHandle"])
for n in notices:
    attrs = {k: v.get("Value") for k, v in n.get("MessageAttributes", {}).items()}
    print(f"  {n.get('Subject')}   {attrs}")
print(f"  {len(notices)} notification(s)")
escalation = next((n for n in notices if n.get("MessageAttributes", {}).get("escalation", {}).get("Value") == "true"), None)
if escalation:
    print("\n--- the escalation notice, as an e-mail subscriber reads it ---")
    print(escalation["Message"].split("--- machine-readable ---")[0])
if notices:
    first = next((n for n in notices if n.get("MessageAttributes", {}).get("decision", {}).get("Value") == "revoked"), notices[0])
    print("\n--- the first revocation notice, as an e-mail subscriber reads it ---")
    print(first["Message"])

if CHECK:
    got_notices = collections.Counter(n.get("MessageAttributes", {}).get("decision", {}).get("Value") for n in notices)
    problems = []
    for own, who in (("00000000-0000-4000-8000-0000000000ff", "revoker"), ("00000000-0000-4000-8000-0000000000fe", "pruner")):
        if any(d["event_id"] == own for d in decisions):
            problems.append(f"the {who}'s own call went through the rule")
    if dict(counts) != EXPECTED:
        problems.append(f"decisions {dict(counts)} != {EXPECTED}")
    if dict(got_notices) != EXPECTED_NOTICES:
        problems.append(f"notices {dict(got_notices)} != {EXPECTED_NOTICES}")
    escalations = sum(1 for n in notices if n.get("MessageAttributes", {}).get("escalation", {}).get("Value") == "true")
    if escalations != 2:
        problems.append(f"{escalations} escalation notices, not 2")
    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName="mallory")["Groups"]]
    tags = {t["Key"] for t in iam.list_user_tags(UserName="mallory")["Tags"]}
    if "Administrators" in groups or "iam-warden:exempt" in tags:
        problems.append(f"mallory's escalation was not undone: groups {groups}, tags {sorted(tags)}")
    if denied != [f"{role_id}:gh-actions-1234"]:
        problems.append(f"the stolen CI session of deployer is not denied alone: {denied}")
    # An Identity Center user's write (event 7): contained, the remedy (a Deny on the user)
    # in the notice; its role is Identity Center's and never touched.
    if not any("*:carol@example.com" in n.get("Message", "") for n in notices):
        problems.append("the Identity Center user's notice does not give the Deny that stops her sessions")
    if not no_assume:
        problems.append("dev1, who issued the stolen session, may assume deployer again")
    if deny in {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="deployer")["AttachedPolicies"]}:
        problems.append("role deployer itself was revoked, not its session")
    if problems:
        sys.exit("demo check failed: " + "; ".join(problems))
    print("\ndemo check: the decisions and notices of the decision table arrived through EventBridge and the queue,"
          " mallory's escalations were undone, and the CI session of deployer was denied alone and traced to dev1")
