"""Sends the sample events to EventBridge (PutEvents), one at a time and in order, as
CloudTrail would: the rule of template.yaml routes them to the FIFO queue; CloudTrail's
event history (LookupEvents) holds them too. Then one call each made by the revoker's and
the pruner's roles, which the rule must drop (demo_summary.py --check counts).

mallory's calls (events 16 and 17: joining the admin group, tagging herself exempt) are
made in IAM first, as she would have made them: the revoker must find and undo them."""
import copy
import json
import os
import sys
import urllib.request

import boto3

events = boto3.client("events")
iam = boto3.client("iam")
account = boto3.client("sts").get_caller_identity()["Account"]
ATTACKER = "mallory"


def real_ids(detail):
    """The unique ids IAM has for the caller, as CloudTrail records them."""
    identity = detail.get("userIdentity") or {}
    try:
        if identity.get("type") == "IAMUser" and identity.get("userName"):
            identity["principalId"] = iam.get_user(UserName=identity["userName"])["User"]["UserId"]
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        if identity.get("type") == "AssumedRole" and issuer.get("userName"):
            issuer["principalId"] = iam.get_role(RoleName=issuer["userName"])["Role"]["RoleId"]
            # A session's principalId (its aws:userid) is ROLE-ID:SESSION-NAME.
            if ":" in identity.get("principalId", ""):
                session = identity["principalId"].split(":", 1)[1]
                identity["principalId"] = f"{issuer['principalId']}:{session}"
        if identity.get("type") == "FederatedUser" and issuer.get("userName"):
            issuer["principalId"] = iam.get_user(UserName=issuer["userName"])["User"]["UserId"]
    except iam.exceptions.NoSuchEntityException:
        pass  # a caller that does not exist keeps what the record had


if sys.argv[1:] == ["--canary"]:
    # The pruner's daily canary, as CloudTrail records it: TagRole on the canary role by
    # the pruner's role (made in IAM by `warden canary` just before).
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    role = os.environ["CANARY_ROLE_NAME"]
    pruner = os.environ["PRUNER_ROLE_ARN"]
    detail = {
        "eventVersion": "1.09", "eventTime": now, "eventSource": "iam.amazonaws.com", "eventName": "TagRole",
        "awsRegion": "us-east-1", "sourceIPAddress": "lambda.amazonaws.com", "userAgent": "aws-sdk-rust",
        "userIdentity": {"type": "AssumedRole", "accountId": account,
                         "arn": f"arn:aws:sts::{account}:assumed-role/iam-warden-pruner/iam-warden-pruner",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "arn": pruner, "accountId": account, "userName": "iam-warden-pruner"}}},
        "requestParameters": {"roleName": role, "tags": [{"key": "iam-warden:canary", "value": now}]},
        "responseElements": None, "eventID": f"canary-{now}", "readOnly": False, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": account,
    }
    out = events.put_events(Entries=[{"Source": "aws.iam", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}])
    if out.get("FailedEntryCount"):
        sys.exit(f"PutEvents refused the canary: {out['Entries']}")
    print("put the pruner's canary (TagRole on the canary role) on the default event bus", file=sys.stderr)
    sys.exit(0)

def issued_by(detail, user):
    """The AssumeRole call that issued a role session, as CloudTrail records it: the
    revoker looks it up to find who to keep from assuming the role again."""
    identity = detail["userIdentity"]
    role = identity["sessionContext"]["sessionIssuer"]
    session = identity["principalId"].split(":", 1)[1]
    record = {
        "eventVersion": "1.08", "eventTime": identity["sessionContext"]["attributes"]["creationDate"],
        "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": "us-east-1",
        "sourceIPAddress": detail.get("sourceIPAddress"), "userAgent": detail.get("userAgent"),
        "userIdentity": {"type": "IAMUser", "principalId": iam.get_user(UserName=user)["User"]["UserId"],
                         "arn": f"arn:aws:iam::{account}:user/{user}", "accountId": account, "userName": user},
        "requestParameters": {"roleArn": role["arn"], "roleSessionName": session},
        "responseElements": {"assumedRoleUser": {"assumedRoleId": identity["principalId"],
                                                 "arn": identity["arn"]}},
        "eventID": f"assume-{session}", "readOnly": True, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": account,
    }
    urllib.request.urlopen(urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/_warden/cloudtrail", method="POST",
        data=json.dumps({"account": account, "records": [record]}).encode()))


for path in sys.argv[1:]:
    with open(path) as f:
        event = json.load(f)
    detail = event["detail"]
    real_ids(detail)
    # The stolen CI session of deployer (event 6) was issued to dev1, whose key it was.
    if detail.get("userIdentity", {}).get("type") == "AssumedRole" and \
            detail["userIdentity"].get("principalId", "").endswith(":gh-actions-1234"):
        issued_by(detail, "dev1")
    if detail.get("userIdentity", {}).get("userName") == ATTACKER:
        params = detail["requestParameters"]
        if detail["eventName"] == "AddUserToGroup":
            iam.add_user_to_group(GroupName=params["groupName"], UserName=params["userName"])
        elif detail["eventName"] == "TagUser":
            iam.tag_user(UserName=params["userName"], Tags=[{"Key": t["key"], "Value": t["value"]} for t in params["tags"]])
    urllib.request.urlopen(urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"] + "/_warden/cloudtrail", method="POST",
        data=json.dumps({"account": account, "records": [detail]}).encode()))
    out = events.put_events(Entries=[{
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event.get("resources", []),
    }])
    if out.get("FailedEntryCount"):
        sys.exit(f"PutEvents refused {path}: {out['Entries']}")

# The revoker's own AttachUserPolicy: excluded by the rule's pattern, never queued.
own = copy.deepcopy(event)
own["detail"]["eventName"] = "AttachUserPolicy"
own["detail"]["eventID"] = "00000000-0000-4000-8000-0000000000ff"
own["detail"]["userIdentity"] = {
    "type": "AssumedRole",
    "arn": "arn:aws:sts::123456789012:assumed-role/iam-warden-revoker/iam-warden-revoker",
    "accountId": "123456789012",
    "sessionContext": {"sessionIssuer": {"type": "Role", "accountId": "123456789012",
                                         "arn": "arn:aws:iam::123456789012:role/iam-warden/iam-warden-revoker"}},
}
events.put_events(Entries=[{"Source": own["source"], "DetailType": own["detail-type"], "Detail": json.dumps(own["detail"])}])
# And one of the pruner's: its role is excluded as well.
own["detail"]["eventName"] = "CreatePolicyVersion"
own["detail"]["eventID"] = "00000000-0000-4000-8000-0000000000fe"
own["detail"]["userIdentity"]["arn"] = "arn:aws:sts::123456789012:assumed-role/iam-warden-pruner/iam-warden-pruner"
own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = "arn:aws:iam::123456789012:role/iam-warden/iam-warden-pruner"
events.put_events(Entries=[{"Source": own["source"], "DetailType": own["detail-type"], "Detail": json.dumps(own["detail"])}])
print(f"put {len(sys.argv) - 1} events on the default event bus, and one call each of the revoker's and the pruner's roles", file=sys.stderr)
