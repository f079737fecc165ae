"""The demo's pruning pass: seeds Access Advisor (dev2 used S3 recently) and gives dev2
and dev3 an access key each (dev2's used recently), runs `warden prune` as if 120 days
later (it records what is granted) and 135 days later (it denies what was not used and
deactivates the key nobody used), prints the decisions and the policies, lifts one
service and reactivates the key. With --check, fails unless the pruner decided what the
plan says."""
import datetime
import json
import os
import subprocess
import sys
import urllib.request

import boto3

CHECK = "--check" in sys.argv
warden = os.environ["WARDEN_BIN"]
iam = boto3.client("iam")
account = boto3.client("sts").get_caller_identity()["Account"]
now = datetime.datetime.now(datetime.timezone.utc)
first, later = now + datetime.timedelta(days=120), now + datetime.timedelta(days=135)

dev2 = iam.get_user(UserName="dev2")["User"]["Arn"]
seed = {"account": account, "principal": dev2, "services": {"s3": (later - datetime.timedelta(days=3)).isoformat()}}
urllib.request.urlopen(urllib.request.Request(
    os.environ["AWS_ENDPOINT_URL"] + "/_warden/access-advisor", data=json.dumps(seed).encode(), method="POST"))
# An access key each: dev2 signed with its key 3 days before the second run (as IAM
# would date it); dev3 never used its key.
keys = {name: iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for name in ("dev2", "dev3")}
used = {"account": account, "user": "dev2",
        "keys": {keys["dev2"]: {"last_used": (later - datetime.timedelta(days=3)).isoformat()}}}
urllib.request.urlopen(urllib.request.Request(
    os.environ["AWS_ENDPOINT_URL"] + "/_warden/credentials", data=json.dumps(used).encode(), method="POST"))


def run(*args):
    print(f"\n$ warden {' '.join(args)}", flush=True)
    out = subprocess.run([warden, *args], capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        sys.exit(f"warden {args[0]} failed ({out.returncode})")
    return out.stdout


print(run("init").strip())
first_lines = [json.loads(l) for l in run("prune", "--now", first.isoformat()).splitlines() if l.strip()][:-1]
lines = [json.loads(l) for l in run("prune", "--now", later.isoformat()).splitlines() if l.strip()]
summary = lines.pop()


def few(items, n=6):
    return ", ".join(items[:n]) + (f", and {len(items) - n} more" if len(items) > n else "")


print("\n=== Unused credentials (as if 120 days from now) ===")
for l in first_lines:
    who = l["principal"].split(":")[-1]
    for c in l.get("credentials", []):
        print(f"  {c['status']:<12} {who:<22} {c['credential'] or 'credentials'} (unused {c['days']} days)")
print("\n=== Pruning decisions (as if 135 days from now) ===")
for l in lines:
    who = l["principal"].split(":")[-1]
    print(f"  {l['decision']:<10} {who:<22} denied: {few(l['denied_services']) or '-':<24} {l['reason'] or ''}")
print(f"  {summary['summary']}")
decided = {l["principal"].split("/")[-1]: l for l in lines}
for name in ("dev2", "dev3"):
    for arn in decided[name]["policy_arns"]:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
        doc = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
        doc = json.loads(urllib.request.unquote(doc)) if isinstance(doc, str) else doc
        print(f"  user/{name}: {arn} denies {doc['Statement'][0]['Action']}")
sqs = boto3.client("sqs")
digests = []
while True:
    got = sqs.receive_message(QueueUrl=os.environ["DEMO_INBOX_URL"], MaxNumberOfMessages=10).get("Messages", [])
    if not got:
        break
    for m in got:
        body = json.loads(m["Body"])
        if body.get("MessageAttributes", {}).get("decision", {}).get("Value") == "pruned":
            digests.append(body)
        sqs.delete_message(QueueUrl=os.environ["DEMO_INBOX_URL"], ReceiptHandle=m["ReceiptHandle"])
if digests:
    print("\n--- the second run's digest, as an e-mail subscriber reads it ---")
    print(digests[-1]["Subject"])
    text, _, block = digests[-1]["Message"].partition("-- every change, as JSON --")
    print(text.rstrip())
    if block:
        print(f"-- every change, as JSON -- ({len(block.strip())} characters, for machines: not shown)")
print(run("restore", "--user", "dev3", "--service", "lambda").strip())
print(run("restore", "--user", "dev3", "--key", keys["dev3"]).strip())
status = {name: iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] for name in keys}
print(f"  access keys now: dev2 {status['dev2']}, dev3 {status['dev3']}")

# The account's IAM assessment: text (the summary and the failed findings), an HTML page
# for an audit, and the findings imported into Security Hub.
assessed = run("assess", "--security-hub")
head, _, rest = assessed.partition("== Passed ==")
print("\n".join(head.strip().splitlines()[:14]))
print(f"  ... ({len(head.strip().splitlines())} lines of failed findings, then the passed and iam-warden's own)")
page = os.path.join(os.environ.get("TMPDIR", "/tmp"), "iam-warden-assessment.html")
run("assess", "--format", "html", "--output", page)
print(f"  the same as one HTML page: {page}")
assessment = json.loads(run("assess", "--json"))

if CHECK:
    problems = []
    expect = {"dev2": ("denied", ["ec2", "lambda"]), "dev3": ("denied", ["ec2", "lambda", "s3"]),
              "alice": ("exempt", None), "ci-bot": ("exempt", None)}
    for name, (decision, denied) in expect.items():
        got = decided.get(name, {})
        if got.get("decision") != decision or (denied is not None and got.get("denied_services") != denied):
            problems.append(f"{name}: {got.get('decision')} {got.get('denied_services')} != {decision} {denied}")
    # mallory is back in the admin group (restored) but not trusted: never exempt.
    if decided.get("mallory", {}).get("decision") == "exempt":
        problems.append("mallory, an untrusted member of the admin group, was exempt from pruning")
    first_decided = {l["principal"].split("/")[-1]: l for l in first_lines}
    taken = {name: [(c["credential"], c["status"]) for c in first_decided.get(name, {}).get("credentials", [])]
             for name in ("dev2", "dev3")}
    if taken != {"dev2": [], "dev3": [(keys["dev3"], "deactivated")]}:
        problems.append(f"unused keys: {taken} (dev3's unused key deactivated, dev2's used one kept)")
    if status != {"dev2": "Active", "dev3": "Active"}:
        problems.append(f"after restore --key: {status}")
    failed_checks = {f["check"] for f in assessment["findings"] if not f["passed"]}
    for check in ("root-mfa", "console-mfa", "full-admin-policy", "iam-admin-policy"):
        if check not in failed_checks:
            problems.append(f"warden assess did not find {check} failing: {sorted(failed_checks)}")
    if not any(f["check"] == "iam-warden" for f in assessment["findings"]):
        problems.append("warden assess did not report iam-warden's own state")
    if len(digests) != 2:
        problems.append(f"{len(digests)} digests for two runs")
    if problems:
        sys.exit("demo pruning check failed: " + "; ".join(problems))
    print("\ndemo check: the pruner denied exactly the unused services and deactivated the unused key, kept admins and exempt users, restore put the key back, and warden assess found what the account lacks")
