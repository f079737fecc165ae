"""The Python/boto3 equivalent of the revoker, as users of the existing Python Lambdas
write it: a handler over an SQS batch, the same decision table for this workload
(read-only calls ignored, admins exempt, deny already attached = already revoked,
otherwise attach the deny and publish a notice), boto3 clients built at import.

    python revoker.py bench SETUP.json    # the throughput run: one JSON line
    python revoker.py cold SETUP.json     # import, clients, one decision: one JSON line
"""
import json
import os
import resource
import sys
import time

T0 = time.time_ns()
import boto3  # noqa: E402  (the import is part of the cold start)
from botocore.config import Config  # noqa: E402

CALLS = {}


def count(event_name, **_):
    # botocore emits before-send.<service>.<Operation> once per HTTP attempt.
    op = event_name.split(".", 1)[1]
    CALLS[op] = CALLS.get(op, 0) + 1


def clients(setup):
    session = boto3.session.Session(
        aws_access_key_id=setup["key"], aws_secret_access_key=setup["secret"], region_name="us-east-1")
    cfg = Config(retries={"mode": "adaptive", "max_attempts": 6})
    out = {}
    for name in ("iam", "sns", "sts"):
        c = session.client(name, endpoint_url=setup["endpoint"], config=cfg)
        c.meta.events.register("before-send", count)
        out[name] = c
    return out


def handler(event, setup, aws):
    """One SQS batch of EventBridge events; returns the decisions."""
    decisions = []
    for record in event["Records"]:
        detail = json.loads(record["body"])["detail"]
        identity = detail.get("userIdentity", {})
        if detail.get("readOnly"):
            decisions.append("ignored")
            continue
        if identity.get("type") != "IAMUser":
            decisions.append("alerted")
            continue
        user = identity["userName"]
        groups = aws["iam"].list_groups_for_user(UserName=user)["Groups"]
        if any(g["GroupName"] == setup["admin_group"] for g in groups):
            decisions.append("exempt")
            continue
        attached = aws["iam"].list_attached_user_policies(UserName=user)["AttachedPolicies"]
        if any(p["PolicyArn"] == setup["deny_policy_arn"] for p in attached):
            decisions.append("already-revoked")
            continue
        aws["iam"].attach_user_policy(UserName=user, PolicyArn=setup["deny_policy_arn"])
        aws["sns"].publish(
            TopicArn=setup["topic_arn"],
            Subject=f"IAM access revoked: user/{user}",
            Message=json.dumps({"decision": "revoked", "user": user, "event_id": detail["eventID"],
                                "event_name": detail["eventName"]}),
        )
        decisions.append("revoked")
    return decisions


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def bench(setup):
    aws = clients(setup)
    bodies = [json.dumps(e) for e in setup["events"]]
    by_decision = {}
    latencies = []
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for i in range(0, len(bodies), 10):
        batch = {"Records": [{"messageId": str(i + j), "body": b} for j, b in enumerate(bodies[i:i + 10])]}
        t0 = time.perf_counter()
        # Per-event attribution of calls: one event at a time through the same handler.
        for record in batch["Records"]:
            before = sum(CALLS.values())
            decision = handler({"Records": [record]}, setup, aws)[0]
            d = by_decision.setdefault(decision, {"events": 0, "calls": 0})
            d["events"] += 1
            d["calls"] += sum(CALLS.values()) - before
        latencies.append((time.perf_counter() - t0) * 1000)
    wall = time.perf_counter() - started
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, round(p / 100 * (len(latencies) - 1)))]  # noqa: E731
    for d in by_decision.values():
        d["calls_per_event"] = d["calls"] / d["events"]
    print(json.dumps({
        "impl": "python", "events": len(bodies), "wall_s": wall, "events_per_s": len(bodies) / wall,
        "batch_p50_ms": pct(50), "batch_p99_ms": pct(99), "cpu_s": cpu,
        "cpu_per_event_ms": cpu * 1000 / len(bodies), "calls_total": sum(CALLS.values()),
        "calls_by_operation": CALLS, "by_decision": by_decision,
    }))


def cold(setup):
    aws = clients(setup)
    # The equivalent of the Rust start-up checks: identity and the admin group.
    aws["sts"].get_caller_identity()
    aws["iam"].get_group(GroupName=setup["admin_group"], MaxItems=1)
    body = json.dumps(setup["events"][0])
    decision = handler({"Records": [{"messageId": "0", "body": body}]}, setup, aws)[0]
    print(json.dumps({"impl": "python", "first_decision_unix_ns": str(time.time_ns()), "decision": decision,
                      "peak_rss_kib": peak_rss_kib(), "import_started_unix_ns": str(T0)}))


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        setup = json.load(f)
    {"bench": bench, "cold": cold}[mode](setup)
