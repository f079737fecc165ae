#!/usr/bin/env bash
# The demo: moto server, a sample account, the sample events of events/ through
# `warden replay`, and a summary of the decisions and of the notifications.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
echo "==> building warden" >&2
cargo build --quiet --bin warden
start_moto
"$VENV/bin/python" scripts/demo_account.py >"$ROOT/target/demo.env"
source "$ROOT/target/demo.env"
out="$ROOT/target/demo-decisions.jsonl"
echo "==> warden replay events/[0-9]*.json" >&2
"$ROOT/target/debug/warden" replay events/[0-9]*.json | tee "$out"
"$VENV/bin/python" scripts/demo_summary.py "$out"
echo
echo "==> warden status"
"$ROOT/target/debug/warden" status
echo
echo "==> warden restore --user dev1"
"$ROOT/target/debug/warden" restore --user dev1
