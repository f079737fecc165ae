#!/usr/bin/env bash
# The demo: moto server, a sample account with the resources of template.yaml, the
# sample events of events/ through EventBridge -> rule -> FIFO queue -> the revoker's
# handler, and a summary of the decisions and of the notifications; then a pruning pass;
# then central mode (member accounts decided through their member role).
# With --check (the test command uses it), fails unless they are the expected ones.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
# WARDEN_BIN: a warden already built (the test command passes the one its tests built).
if [ -z "${WARDEN_BIN:-}" ]; then
  echo "==> building warden" >&2
  cargo build --quiet --bin warden
  WARDEN_BIN="$ROOT/target/debug/warden"
fi
start_moto
"$VENV/bin/python" scripts/demo_account.py >"$ROOT/target/demo.env"
source "$ROOT/target/demo.env"
echo "==> warden init: the ledger table, and the trust baseline (whom iam-warden trusts from now on)" >&2
"$WARDEN_BIN" init
out="$ROOT/target/demo-decisions.jsonl"
echo "==> EventBridge PutEvents of events/[0-9]*.json -> rule -> FIFO queue" >&2
"$VENV/bin/python" scripts/demo_put_events.py events/[0-9]*.json
echo "==> warden consume: the revoker's Lambda handler on the queue, batch by batch" >&2
"$WARDEN_BIN" consume --queue-url "$EVENTS_QUEUE_URL" | tee "$out"
"$VENV/bin/python" scripts/demo_summary.py "$out" "$@"
echo
echo "==> an attack: eve's stolen key makes a backdoor in the minutes before CloudTrail delivers her calls" >&2
rm -rf "$ROOT/target/demo-attack"
"$VENV/bin/python" scripts/demo_attack.py attack
"$VENV/bin/python" scripts/demo_put_events.py "$ROOT"/target/demo-attack/*.json
"$WARDEN_BIN" consume --queue-url "$EVENTS_QUEUE_URL" | tee "$ROOT/target/demo-attack.jsonl"
"$VENV/bin/python" scripts/demo_attack.py contained "$@"
echo
echo "==> the daily canary: warden canary (as the pruner does each day), CloudTrail -> EventBridge -> queue -> revoker" >&2
"$WARDEN_BIN" canary
"$VENV/bin/python" scripts/demo_put_events.py --canary
"$WARDEN_BIN" consume --queue-url "$EVENTS_QUEUE_URL" >/dev/null
echo
echo "==> warden status"
"$WARDEN_BIN" status | tee "$ROOT/target/demo-status.txt"
if [ "${1:-}" = "--check" ] && ! grep -q "^Canary: last seen" "$ROOT/target/demo-status.txt"; then
  echo "demo check failed: the canary did not reach the revoker" >&2
  exit 1
fi
echo
echo "==> warden restore --user dev1"
"$WARDEN_BIN" restore --user dev1
echo
echo "==> warden restore --user mallory (had her escalations been legitimate: put back, but not trusted)"
"$WARDEN_BIN" restore --user mallory
echo
echo "==> warden restore --user eve (had her calls been legitimate: everything contained is put back)"
"$WARDEN_BIN" restore --user eve
"$VENV/bin/python" scripts/demo_attack.py restored "$@"
echo
echo "==> warden restore --role deployer --session gh-actions-1234 (had the CI session been legitimate: that session alone)"
"$WARDEN_BIN" restore --role deployer --session gh-actions-1234 | tee "$ROOT/target/demo-session.txt"
if [ "${1:-}" = "--check" ] && ! grep -q "lifted the inline deny of IAM from the session" "$ROOT/target/demo-session.txt"; then
  echo "demo check failed: the session's deny was not lifted" >&2
  exit 1
fi
echo
echo "==> the pruner: warden init, then warden prune as if 120 and 135 days from now (unused services denied, unused access keys deactivated); warden assess" >&2
WARDEN_BIN="$WARDEN_BIN" "$VENV/bin/python" scripts/demo_prune.py "$@"
echo
echo "==> central mode: this account decides for two member accounts, through their member role" >&2
"$VENV/bin/python" scripts/demo_central.py setup >"$ROOT/target/demo-central.env"
(
  source "$ROOT/target/demo-central.env"   # the central revoker's role; MEMBER_ROLE_NAME, ACCOUNTS
  echo "==> warden consume: each event decided in its own account (the third has no member role)" >&2
  "$WARDEN_BIN" consume --queue-url "$EVENTS_QUEUE_URL" | tee "$ROOT/target/demo-central.jsonl"
  echo "==> warden --all-accounts status: one table for the organization" >&2
  "$WARDEN_BIN" --all-accounts status || true
  echo "==> warden --account ${ACCOUNTS%%,*} restore --user dev1: that member only" >&2
  "$WARDEN_BIN" --account "${ACCOUNTS%%,*}" restore --user dev1
)
"$VENV/bin/python" scripts/demo_central.py check "$ROOT/target/demo-central.jsonl" "$@"
echo
echo "==> SESSION_SCP=on: an Identity Center user of a member account, denied IAM by the tool's SCP" >&2
"$VENV/bin/python" scripts/demo_central.py scp-setup >"$ROOT/target/demo-scp.env"
(
  source "$ROOT/target/demo-central.env"
  source "$ROOT/target/demo-scp.env"   # SCP_MEMBER, SSO_ROLE
  export SESSION_SCP=on
  "$WARDEN_BIN" consume --queue-url "$EVENTS_QUEUE_URL" | tee "$ROOT/target/demo-scp.jsonl"
  "$VENV/bin/python" scripts/demo_central.py scp-show
  echo "==> warden --account $SCP_MEMBER restore --role $SSO_ROLE --session carol@example.com" >&2
  "$WARDEN_BIN" --account "$SCP_MEMBER" restore --role "$SSO_ROLE" --session carol@example.com
)
"$VENV/bin/python" scripts/demo_central.py scp-check "$ROOT/target/demo-scp.jsonl" "$@"
