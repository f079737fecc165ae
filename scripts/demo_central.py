"""The demo's central mode: the demo account is the central (security) account; two member
accounts carry what member.yaml deploys (the member role, which admits only the central
revoker's and pruner's roles, and the deny and quarantine policies), with an admin (alice) and a developer
(dev1); a third account has no member stack. dev1 makes an IAM write in each of the three.

    demo_central.py setup     the accounts, the three events on the central queue (as the
                              central bus's rule delivers them), and on stdout the
                              environment of the central revoker's role (the CLI stands
                              in for the Lambda)
    demo_central.py check FILE [--check]
                              the decisions `warden consume` printed, and each account's IAM
    demo_central.py scp-setup the organization (the demo account is its management account,
                              SCPs enabled), a member account it creates, and an Identity
                              Center user's IAM write there on the central queue; on stdout
                              SCP_MEMBER and SSO_ROLE
    demo_central.py scp-show  the tool's SCPs on that member
    demo_central.py scp-check FILE [--check]
                              the user denied by the SCP, then lifted by `warden restore`
"""
import datetime
import json
import os
import sys
import uuid

import boto3

CENTRAL = boto3.client("sts").get_caller_identity()["Account"]
MEMBERS = ["111111111111", "222222222222"]
STRANGER = "333333333333"
MEMBER_ROLE = "iam-warden-member"
REVOKER_ROLE = "iam-warden-revoker"
DENY = "iam-warden-deny-iam"


def client(service, account=None):
    """A boto3 client for `account` (moto keeps accounts apart by this header)."""
    c = boto3.client(service)
    if account:
        def header(request, **_):
            request.headers["x-moto-account-id"] = account
        c.meta.events.register("before-sign.*.*", header)
    return c


def deny_arn(account):
    return f"arn:aws:iam::{account}:policy/iam-warden/{DENY}"


def setup():
    iam = client("iam")
    # The central revoker's role. In AWS only Lambda assumes it; here the CLI stands in.
    try:
        iam.create_role(RoleName=REVOKER_ROLE, Path="/iam-warden/", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": [
            f"arn:aws:iam::{CENTRAL}:role/iam-warden/iam-warden-revoker",
            f"arn:aws:iam::{CENTRAL}:role/iam-warden/iam-warden-pruner"]}}}]}
    policies = os.path.join(os.path.dirname(__file__), "..", "policies")
    deny_doc = open(os.path.join(policies, "deny-all-iam.json")).read()
    quarantine_doc = open(os.path.join(policies, "quarantine.json")).read()
    sqs = client("sqs")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for account in MEMBERS + [STRANGER]:
        m = client("iam", account)
        if account != STRANGER:
            m.create_role(RoleName=MEMBER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
            m.create_policy(PolicyName=DENY, Path="/iam-warden/", PolicyDocument=deny_doc)
            m.create_policy(PolicyName="iam-warden-quarantine", Path="/iam-warden/", PolicyDocument=quarantine_doc)
            m.create_group(GroupName="Administrators")
            m.create_user(UserName="alice")
            m.add_user_to_group(GroupName="Administrators", UserName="alice")
        user = m.create_user(UserName="dev1")["User"]
        record = {
            "eventVersion": "1.08", "eventTime": now, "eventSource": "iam.amazonaws.com",
            "eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
            "userAgent": "aws-cli/2.17.0", "requestParameters": {"userName": "backdoor"},
            "responseElements": None, "requestID": str(uuid.uuid4()), "eventID": f"central-{account}",
            "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
            "userIdentity": {"type": "IAMUser", "principalId": user["UserId"], "accountId": account,
                             "arn": user["Arn"], "userName": "dev1"},
        }
        body = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
                "source": "aws.iam", "account": account, "time": now, "region": "us-east-1",
                "resources": [], "detail": record}
        sqs.send_message(QueueUrl=os.environ["EVENTS_QUEUE_URL"], MessageBody=json.dumps(body),
                         MessageGroupId="member-events", MessageDeduplicationId=f"central-{account}")
    creds = client("sts").assume_role(RoleArn=f"arn:aws:iam::{CENTRAL}:role/iam-warden/{REVOKER_ROLE}",
                                      RoleSessionName="iam-warden")["Credentials"]
    print(f"export AWS_ACCESS_KEY_ID={creds['AccessKeyId']}")
    print(f"export AWS_SECRET_ACCESS_KEY={creds['SecretAccessKey']}")
    print(f"export AWS_SESSION_TOKEN={creds['SessionToken']}")
    print(f"export MEMBER_ROLE_NAME={MEMBER_ROLE}")
    print(f"export ACCOUNTS={','.join(MEMBERS + [STRANGER])}")
    print(f"central account {CENTRAL}; members {', '.join(MEMBERS)} (member role, deny policy, alice admin, dev1); "
          f"{STRANGER} has no member stack. dev1 made a user in each.", file=sys.stderr)


def check(path, strict):
    decisions = {d["event_id"]: d for d in (json.loads(l) for l in open(path) if l.strip())}
    problems = []
    print("\n=== Central mode: each account's event, decided in that account ===")
    for account in MEMBERS + [STRANGER]:
        d = decisions.get(f"central-{account}", {})
        attached = [p["PolicyArn"] for p in client("iam", account).list_attached_user_policies(UserName="dev1")["AttachedPolicies"]]
        print(f"  {account}  {d.get('decision', 'missing'):<10} dev1 now: {attached or 'no deny'}  {d.get('reason', '')[:90]}")
        want = "alerted" if account == STRANGER else "revoked"
        if d.get("decision") != want:
            problems.append(f"{account}: decided {d.get('decision')}, expected {want}")
    # After `warden --account 111111111111 restore --user dev1`: the first member's dev1 is
    # restored, the second's still carries its own account's deny, the stranger was never touched.
    state = {a: [p["PolicyArn"] for p in client("iam", a).list_attached_user_policies(UserName="dev1")["AttachedPolicies"]]
             for a in MEMBERS + [STRANGER]}
    if state[MEMBERS[0]] or state[MEMBERS[1]] != [deny_arn(MEMBERS[1])] or state[STRANGER]:
        problems.append(f"after the restore in {MEMBERS[0]}: {state}")
    if problems and strict:
        print("demo check failed (central mode): " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)


SSO_ROLE = "AWSReservedSSO_PowerUser_0a1b2c3d4e5f6a7b"
SCP_STATE = os.path.join(os.path.dirname(__file__), "..", "target", "demo-scp-member")


def scp_setup():
    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    member = org.create_account(Email="team@example.com", AccountName="team")["CreateAccountStatus"]["AccountId"]
    open(SCP_STATE, "w").write(member)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CENTRAL}:root"}, "Action": "sts:AssumeRole",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": [f"arn:aws:iam::{CENTRAL}:role/iam-warden/{REVOKER_ROLE}"]}}}]}
    policies = os.path.join(os.path.dirname(__file__), "..", "policies")
    m = client("iam", member)
    m.create_role(RoleName=MEMBER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    m.create_policy(PolicyName=DENY, Path="/iam-warden/", PolicyDocument=open(os.path.join(policies, "deny-all-iam.json")).read())
    m.create_policy(PolicyName="iam-warden-quarantine", Path="/iam-warden/",
                    PolicyDocument=open(os.path.join(policies, "quarantine.json")).read())
    m.create_group(GroupName="Administrators")
    # Identity Center's role for the permission set PowerUser (Identity Center makes it).
    role = m.create_role(RoleName=SSO_ROLE, Path="/aws-reserved/sso.amazonaws.com/",
                         AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "eventVersion": "1.08", "eventTime": now, "eventSource": "iam.amazonaws.com",
        "eventName": "CreateUser", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.17.0", "requestParameters": {"userName": "backdoor"},
        "responseElements": None, "requestID": str(uuid.uuid4()), "eventID": "central-sso",
        "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": member,
        "userIdentity": {
            "type": "AssumedRole", "principalId": f"{role['RoleId']}:carol@example.com", "accountId": member,
            "arn": f"arn:aws:sts::{member}:assumed-role/{SSO_ROLE}/carol@example.com",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": role["RoleId"], "arn": role["Arn"],
                                                 "accountId": member, "userName": SSO_ROLE}},
            "onBehalfOf": {"userId": "9067-carol", "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"}},
    }
    body = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam", "account": member, "time": now, "region": "us-east-1",
            "resources": [], "detail": record}
    client("sqs").send_message(QueueUrl=os.environ["EVENTS_QUEUE_URL"], MessageBody=json.dumps(body),
                               MessageGroupId="member-events", MessageDeduplicationId="central-sso")
    print(f"export SCP_MEMBER={member}")
    print(f"export SSO_ROLE={SSO_ROLE}")
    print(f"organization created (this account is its management account, SCPs enabled); member {member}; "
          f"carol@example.com (PowerUser, not an admin set) made a user there.", file=sys.stderr)


def tool_scps(member):
    org = client("organizations")
    out = []
    for p in org.list_policies_for_target(TargetId=member, Filter="SERVICE_CONTROL_POLICY")["Policies"]:
        if p["Name"].startswith("iam-warden-sessions-"):
            out.append((p["Name"], org.describe_policy(PolicyId=p["Id"])["Policy"]["Content"]))
    return out


def scp_show():
    member = open(SCP_STATE).read().strip()
    for name, content in tool_scps(member):
        print(f"  SCP {name} on {member}: {content}")


def scp_check(path, strict):
    member = open(SCP_STATE).read().strip()
    decisions = {d["event_id"]: d for d in (json.loads(l) for l in open(path) if l.strip())}
    d = decisions.get("central-sso", {})
    print("\n=== SESSION_SCP=on: an Identity Center user stopped by the tool's SCP ===")
    print(f"  {member}  {d.get('decision', 'missing')}: " + "; ".join(d.get("actions", []))[:160])
    problems = []
    if not any("by the SCP of iam-warden" in a for a in d.get("actions", [])):
        problems.append(f"carol was not denied by the SCP: {d}")
    if tool_scps(member):
        problems.append("the SCP is still attached after warden restore")
    if problems and strict:
        print("demo check failed (SESSION_SCP): " + "; ".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup()
    elif sys.argv[1] == "scp-setup":
        scp_setup()
    elif sys.argv[1] == "scp-show":
        scp_show()
    elif sys.argv[1] == "scp-check":
        scp_check(sys.argv[2], "--check" in sys.argv)
    else:
        check(sys.argv[2], "--check" in sys.argv)
