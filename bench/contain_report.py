"""The containment section of bench/RESULTS.md, from target/bench/contain.json
(`warden-bench contain`): API calls per event and per contained artifact, and the
attack chain's wall time. Imported by report.py; run alone, prints the section."""
import json
import os
import sys

# The containment's own calls: the action on IAM, and the ledger writes of its record.
ACTIONS = {"AttachUserPolicy", "AttachRolePolicy", "DetachUserPolicy", "DetachRolePolicy", "DetachGroupPolicy",
           "DeleteUserPolicy", "DeleteRolePolicy", "DeleteGroupPolicy", "PutUserPolicy", "PutRolePolicy",
           "UpdateAccessKey", "DeleteLoginProfile", "RemoveUserFromGroup", "SetDefaultPolicyVersion",
           "UpdateSSHPublicKey", "UpdateSigningCertificate", "UpdateServiceSpecificCredential", "DeactivateMFADevice"}


def section(d):
    out = []
    w = out.append
    w("## 5. Containment")
    w("")
    w(f"{d['attackers']} attackers, each making the attack chain (CreateUser, AttachUserPolicy, CreateAccessKey, "
      "CreateLoginProfile, AddUserToGroup, PutRolePolicy, UpdateAssumeRolePolicy) in IAM before its events arrive; "
      "each chain then goes through the revoker's code path as one SQS batch. Calls counted in the SDK, "
      "retries included. The first event revokes the caller (and contains its own artifact); the others are "
      "`already-revoked` and contained.")
    w("")
    w("| event (decision) | events | artifacts | calls/event | reads/event | calls by operation |")
    w("|---|---|---|---|---|---|")
    steady = []
    for name, e in sorted(d["by_event"].items()):
        ops = e["calls_by_operation"]
        reads = sum(n for op, n in ops.items() if op.split(":")[1].startswith(("Get", "List")))
        w(f"| {name} | {e['events']} | {e['artifacts']} | {e['calls_per_event']:.1f} | {reads / e['events']:.1f} | "
          + ", ".join(f"{op} {n}" for op, n in sorted(ops.items())) + " |")
        if "already-revoked" in name:
            notice = ops.get("SNS:Publish", 0)
            # Per event: the notice and its mark (one UpdateItem); the rest is containment.
            own = sum(ops.values()) - 2 * notice
            steady.append((own / e["artifacts"], reads / e["events"]))
    w("")
    if steady:
        worst = max(c for c, _ in steady)
        worst_reads = max(r for _, r in steady)
        w(f"Per contained artifact, beyond the event's one notice and its mark: at most {worst:.1f} calls and "
          f"{worst_reads:.1f} reads: the action, the record written before it (one conditional write per event, "
          "for all its actions) and its state written after (done, gone or failed). Target: the action and its "
          "record, plus at most one read where the undo needs the state before: "
          f"{'met' if worst <= 3 and worst_reads <= 1 else '**missed**'} (the record is two writes: before, so "
          "that a retry never acts twice nor loses the undo; after, so that restore knows what was done). The "
          "guard of a grant reads IAM only when the trust ledger names the grantee (read once per batch).")
    w("")
    w(f"Attack chain wall time (7 events, one batch, the revocation included): p50 {d['chain_ms_p50']:.0f} ms, "
      f"max {d['chain_ms_max']:.0f} ms, against moto on loopback.")
    w("")
    return out


if __name__ == "__main__":
    print("\n".join(section(json.load(open(os.path.join(sys.argv[1], "contain.json"))))))
