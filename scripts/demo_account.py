"""Creates the demo's sample account in moto server with the resources template.yaml
declares (read from it: one source of truth for names and the rule's pattern), and
prints the environment for `warden`.

Users: alice (in the admin group), dev1..dev3 and mallory (developers), ci-bot (exempt
tag), legacy-app (already at the quota of attached managed policies); role deployer.
"""
import datetime
import json
import os
import sys
import urllib.request

import boto3
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNT = "123456789012"
PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": "us-east-1"}


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...) as {"Fn::X": ...}."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _tag)


def condition(node):
    """Evaluates a template condition with the parameters' defaults."""
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            return template["Parameters"][arg]["Default"]
        if fn == "Fn::Not":
            return not condition(arg[0])
        if fn == "Fn::Equals":
            return condition(arg[0]) == condition(arg[1])
    return node


def resolve(node):
    """Resolves the intrinsic functions the demo's resources use (!Sub of pseudo
    parameters, !GetAtt of a role's ARN, !If on a condition, with the parameters'
    defaults)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if condition(template["Conditions"][name]) else no)
        if set(node) == {"Fn::GetAtt"}:
            target = node["Fn::GetAtt"]
            name, attribute = target.split(".", 1) if isinstance(target, str) else target
            role = template["Resources"][name]["Properties"]
            if attribute != "Arn" or "RoleName" not in role:
                return node  # created by the demo itself (queues): resolved where used
            return f"arn:aws:iam::{ACCOUNT}:role{role.get('Path', '/')}{role['RoleName']}"
        if set(node) == {"Fn::Sub"} and isinstance(node["Fn::Sub"], str):
            text = node["Fn::Sub"]
            for k, v in PSEUDO.items():
                text = text.replace("${" + k + "}", v)
            return text
        return {k: resolve(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v) for v in node]
    return node


with open(os.path.join(ROOT, "template.yaml")) as f:
    template = yaml.load(f, Loader=CfnLoader)
res = template["Resources"]
props = lambda name: resolve(res[name]["Properties"])  # noqa: E731
admin_group = template["Parameters"]["AdminGroupName"]["Default"]

iam = boto3.client("iam")
sns = boto3.client("sns")
sqs = boto3.client("sqs")
events = boto3.client("events")

iam.create_group(GroupName=admin_group)
iam.create_group(GroupName="Developers")
for name, group, tags in [
    ("alice", admin_group, []),
    ("dev1", "Developers", []),
    ("dev2", "Developers", []),
    ("dev3", "Developers", []),
    ("ci-bot", None, [{"Key": "iam-warden:exempt", "Value": "true"}]),
    ("legacy-app", None, []),
    # A developer who may write IAM, and will try to make herself an admin (events 16, 17).
    ("mallory", "Developers", []),
]:
    iam.create_user(UserName=name, Tags=tags)
    if group:
        iam.add_user_to_group(GroupName=group, UserName=name)

quota = iam.get_account_summary()["SummaryMap"]["AttachedPoliciesPerUserQuota"]
for i in range(quota):
    arn = iam.create_policy(
        PolicyName=f"legacy-app-{i}",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"}]}),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="legacy-app", PolicyArn=arn)
# What the developers were granted, for the pruning pass: dev2 and dev3 may use EC2,
# S3 and Lambda; Access Advisor (seeded below) says dev2 used S3 lately.
for name in ("dev2", "dev3"):
    iam.put_user_policy(UserName=name, PolicyName="work", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ec2:*", "s3:GetObject", "lambda:InvokeFunction"], "Resource": "*"}],
    }))
iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
# A deployment pipeline whose sessions wrote IAM two days ago (CloudTrail's history): the
# sessions baseline of `warden init` trusts it, so that ROLE_MODE=session does not lock it out.
pipeline_id = iam.create_role(RoleName="cfn-deploy", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["RoleId"]
_account = boto3.client("sts").get_caller_identity()["Account"]
_at = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
urllib.request.urlopen(urllib.request.Request(
    os.environ["AWS_ENDPOINT_URL"] + "/_warden/cloudtrail", method="POST",
    data=json.dumps({"account": _account, "records": [{
        "eventVersion": "1.08", "eventTime": _at, "eventSource": "iam.amazonaws.com", "eventName": "CreateRole",
        "awsRegion": "us-east-1", "readOnly": False, "eventType": "AwsApiCall", "recipientAccountId": _account,
        "eventID": "pipeline-history-1", "requestParameters": {"roleName": "app-runtime"},
        "userIdentity": {"type": "AssumedRole", "principalId": f"{pipeline_id}:deploy-42", "accountId": _account,
                         "arn": f"arn:aws:sts::{_account}:assumed-role/cfn-deploy/deploy-42",
                         "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": pipeline_id, "accountId": _account,
                                                              "arn": f"arn:aws:iam::{_account}:role/cfn-deploy", "userName": "cfn-deploy"},
                                            "attributes": {"creationDate": _at}}}}]}).encode()))

# The stack's resources, as template.yaml declares them.
p = props("DenyPolicy")
deny = iam.create_policy(PolicyName=p["ManagedPolicyName"], Path=p["Path"], PolicyDocument=json.dumps(p["PolicyDocument"]))["Policy"]["Arn"]
p = props("QuarantinePolicy")
quarantine = iam.create_policy(PolicyName=p["ManagedPolicyName"], Path=p["Path"], PolicyDocument=json.dumps(p["PolicyDocument"]))["Policy"]["Arn"]

topic = sns.create_topic(Name=props("NoticesTopic")["TopicName"])["TopicArn"]
# An SQS queue subscribed to the topic stands in for the e-mail subscription.
inbox = sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)

p = props("DeadLetterQueue")
dlq = sqs.create_queue(QueueName=p["QueueName"], Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
p = props("EventsQueue")
queue = sqs.create_queue(QueueName=p["QueueName"], Attributes={
    "FifoQueue": "true",
    "ContentBasedDeduplication": "true",
    "VisibilityTimeout": str(p["VisibilityTimeout"]),
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": p["RedrivePolicy"]["maxReceiveCount"]}),
})["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

# Where an unverified admin's event waits for its grant (a standard queue, per-message delays).
p = props("DeferralQueue")
deferral = sqs.create_queue(QueueName=p["QueueName"])["QueueUrl"]

# The canary role (the pruner tags it daily; the IAM rule lets that through).
p = props("CanaryRole")
canary = iam.create_role(RoleName=p["RoleName"], Path=p["Path"], AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]

for rule in ("IamEventsRule", "TamperingRule"):
    p = props(rule)
    pattern = json.loads(json.dumps(p["EventPattern"]).replace('{"Ref": "CanaryRole"}', json.dumps(canary["RoleName"])))
    events.put_rule(Name=p["Name"], EventPattern=json.dumps(pattern), State=p["State"], Description=p["Description"])
    target = p["Targets"][0]
    events.put_targets(Rule=p["Name"], Targets=[{"Id": target["Id"], "Arn": queue_arn, "SqsParameters": target["SqsParameters"]}])
p = props("IamEventsRule")
revoker_env = props("RevokerFunction")["Environment"]["Variables"]

# The pruner's ledger table is created by `warden init` in the demo; its name is the template's.
print(f"export LEDGER_TABLE={props('LedgerTable')['TableName']}")
print(f"export DENY_POLICY_ARN={deny}")
print(f"export QUARANTINE_POLICY_ARN={quarantine}")
print(f"export TOPIC_ARN={topic}")
print(f"export DEAD_LETTER_QUEUE_URL={dlq}")
print(f"export EVENTS_QUEUE_URL={queue}")
print(f"export DEFERRAL_QUEUE_URL={deferral}")
for var in ("TOOL_RULE_NAMES", "TOOL_FUNCTION_NAMES", "TOOL_QUEUE_NAMES"):
    print(f"export {var}={revoker_env[var]}")
print(f"export CANARY_ROLE_NAME={canary['RoleName']}")
print(f"export PRUNER_ROLE_ARN={resolve({'Fn::GetAtt': ['PrunerRole', 'Arn']})}")
print(f"export DEMO_INBOX_URL={inbox}")
print(f"export ADMIN_GROUP_NAME={admin_group}")
print(f"sample account: group {admin_group} (alice), users dev1 dev2 dev3 mallory ci-bot (exempt tag) legacy-app "
      f"({quota} managed policies), roles deployer and cfn-deploy (a pipeline); rule {p['Name']} -> {queue_arn}", file=sys.stderr)
