"""Creates the demo's sample account in moto server, as the SAM template would deploy
iam-warden into a real one, and prints the environment for `warden`.

Users: alice (in Administrators), dev1..dev3 (developers), ci-bot (exempt tag),
legacy-app (already at the quota of attached managed policies); role deployer.
"""
import json
import os
import sys

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
iam = boto3.client("iam")
sns = boto3.client("sns")
sqs = boto3.client("sqs")

iam.create_group(GroupName="Administrators")
iam.create_group(GroupName="Developers")
for name, group, tags in [
    ("alice", "Administrators", []),
    ("dev1", "Developers", []),
    ("dev2", "Developers", []),
    ("dev3", "Developers", []),
    ("ci-bot", None, [{"Key": "iam-warden:exempt", "Value": "true"}]),
    ("legacy-app", None, []),
]:
    iam.create_user(UserName=name, Tags=tags)
    if group:
        iam.add_user_to_group(GroupName=group, UserName=name)

quota = iam.get_account_summary()["SummaryMap"]["AttachedPoliciesPerUserQuota"]
for i in range(quota):
    arn = iam.create_policy(
        PolicyName=f"legacy-app-{i}",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": f"s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"}]}),
    )["Policy"]["Arn"]
    iam.attach_user_policy(UserName="legacy-app", PolicyArn=arn)

iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))

with open(os.path.join(ROOT, "policies", "deny-all-iam.json")) as f:
    deny = iam.create_policy(PolicyName="iam-warden-deny-iam", Path="/iam-warden/", PolicyDocument=f.read())["Policy"]["Arn"]

topic = sns.create_topic(Name="iam-warden-notices")["TopicArn"]
inbox = sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
dlq = sqs.create_queue(QueueName="iam-warden-dead-letters.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]

print(f"export DENY_POLICY_ARN={deny}")
print(f"export TOPIC_ARN={topic}")
print(f"export DEAD_LETTER_QUEUE_URL={dlq}")
print(f"export DEMO_INBOX_URL={inbox}")
print("sample account: group Administrators (alice), users dev1 dev2 dev3 ci-bot (exempt tag) legacy-app "
      f"({quota} managed policies), role deployer", file=sys.stderr)
