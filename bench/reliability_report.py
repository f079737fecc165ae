"""The reliability section of bench/RESULTS.md, from target/bench/faults.json and
latency.json (`warden-bench faults`): the revoker's reliability scenario through the
fault-injecting proxy at each fault rate, and with AWS's latency on every call.
Imported by report.py; run alone, prints the section, or with `--replace FILE` puts it
in place of the file's reliability section (or at its end)."""
import json
import os
import sys

TITLE = "## 7. Reliability: faults on the wire, and the attacker's window"


def pct(v):
    return f"{v * 100:.0f} %"


def section(faults, latency, measured):
    out = []
    w = out.append
    w(TITLE)
    w("")
    w(f"Measured {measured} with `warden-bench faults` (`./bench/run.sh` runs it). The scenario of "
      "`tests/src/reliability.rs`: non-admins' IAM writes with duplicates, admins', an exempt bot's, read-only "
      "calls, root, a service-linked role, and an attack chain to contain, through the Lambda handler with SQS's "
      "semantics (FIFO group, visibility timeout, redrive after 5 deliveries, the deferral queue and its "
      "per-message delays, Lambda's 60 s deadline), every AWS call of the revoker through `tests/support/fault_proxy.py` (throttling, 429, 500, "
      "503, connection resets before and after moto carried the request out, answers held 6 s: longer than "
      "the revoker's 5 s attempt timeout), with the revoker's production retries (standard, six attempts, "
      "backoff capped at 2 s). Checked afterwards from moto's state, not from the tool's logs.")
    w("")
    w("| fault rate | seed | events | requests | faults injected | drained in | invocations | lost | "
      "wrongful actions | not revoked | not contained | duplicate notices (Publish answers lost) | "
      "messages failed for a retry | past Lambda's timeout |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in faults["runs"]:
        drained = f"{r['drained_s']:.0f} s" if r["drained_s"] is not None else "**not drained**"
        w(f"| {pct(r['rate'])} | {r['seed']} | {r['events']} | {r['requests']} | {r['faults']} | {drained} | "
          f"{r['invocations']} | {r['lost']} | {r['wrongful']} | {r['not_revoked']} | {r['uncontained']} | "
          f"{r['duplicate_notices']} ({r['lost_publishes']}) | {r['messages_failed_for_retry']} | {r['timed_out']} |")
    w("")
    kinds = {}
    for r in faults["runs"]:
        for k, n in (r["faults_by_kind"] or {}).items():
            kinds.setdefault(k, {})[pct(r["rate"])] = n
    if kinds:
        w("Faults by kind: " + "; ".join(f"{k} " + ", ".join(f"{n} at {rate}" for rate, n in v.items())
                                         for k, v in sorted(kinds.items())) + ".")
        w("")
    w("A duplicate notice is one the SDK's retry of a Publish sent again after the proxy lost the answer of one "
      "SNS had taken: SNS cannot tell a retry from a new message (an SNS FIFO topic could, but it cannot deliver "
      "e-mail). Every other notice went out once.")
    w("")
    for r in latency["runs"] if latency else []:
        w(f"With {r['delay_ms']} ms added to every AWS call (no fault; {r['events']} events, {r['revocations']} "
          f"revocations, {r['requests']} requests, {r['requests'] / r['events']:.1f} per event):")
        w("")
        w("| measure | p50 | p99 |")
        w("|---|---|---|")
        w(f"| our share of the window: a batch's arrival at the handler to each deny in place | "
          f"{r['window_ms_p50']:.0f} ms | {r['window_ms_p99']:.0f} ms |")
        w(f"| an invocation's billed duration (a batch of up to 10) | {r['invocation_ms_p50']:.0f} ms | "
          f"{r['invocation_ms_p99']:.0f} ms |")
        w("")
        ops = r["requests_by_operation"]
        w("Requests by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())) + ".")
        w("")
    return out


def main():
    out = os.path.join(os.path.dirname(__file__), "..", "target", "bench")
    faults = json.load(open(os.path.join(out, "faults.json")))
    path = os.path.join(out, "latency.json")
    latency = json.load(open(path)) if os.path.exists(path) else None
    import datetime
    measured = f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}"
    lines = section(faults, latency, measured)
    if len(sys.argv) > 2 and sys.argv[1] == "--replace":
        text = open(sys.argv[2]).read()
        if TITLE in text:
            before, rest = text.split(TITLE, 1)
            after = rest.split("\n## ", 1)
            tail = "\n## " + after[1] if len(after) > 1 else ""
            text = before + "\n".join(lines) + "\n" + tail
        else:
            text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
        open(sys.argv[2], "w").write(text)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
