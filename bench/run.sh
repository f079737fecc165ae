#!/usr/bin/env bash
# The benchmarks, side by side in one run against one local moto server, written to
# bench/RESULTS.md: revoker throughput and API calls (Rust vs Python/boto3), cold start
# and peak RSS, pruner calls per principal and wall time (and under a 20 req/s IAM
# limit), containment's calls per artifact and the attack chain's wall time, central mode
# (a pruning run over member accounts each behind its own rate limit), the revoker
# through the fault-injecting proxy (tests/support/fault_proxy.py), and the zipped
# arm64 bootstraps. Not a test: nothing here fails on a figure.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
ensure_venv                      # moto[server], which brings boto3
echo "==> cargo build --release -p warden-bench" >&2
cargo build --release --locked --quiet -p warden-bench
BIN="$ROOT/target/release/warden-bench"
PY="$VENV/bin/python"
OUT="$ROOT/target/bench"
mkdir -p "$OUT"
start_moto
export WARDEN_TEST_ENDPOINT="$AWS_ENDPOINT_URL"
# BENCH_PRINCIPALS="" and BENCH_LIMITED_PRINCIPALS=0 skip the pruner runs (their last
# results in target/bench are reported again).
PRINCIPALS="${BENCH_PRINCIPALS-1000 5000}"

echo "==> 1. revoker throughput: 1,000 events, Rust then Python" >&2
"$BIN" setup --out "$OUT/setup-rust.json" >/dev/null
"$BIN" revoker --setup "$OUT/setup-rust.json" >"$OUT/revoker-rust.json"
"$BIN" setup --out "$OUT/setup-python.json" >/dev/null
"$PY" bench/python/revoker.py bench "$OUT/setup-python.json" >"$OUT/revoker-python.json"

echo "==> 2. cold start and peak RSS (5 processes each)" >&2
"$BIN" setup --events 1 --out "$OUT/setup-cold-rust.json" >/dev/null
"$BIN" setup --events 1 --out "$OUT/setup-cold-python.json" >/dev/null
"$PY" bench/python/cold_driver.py 5 \
  rust -- "$BIN" cold --setup "$OUT/setup-cold-rust.json" --- \
  python -- "$PY" bench/python/revoker.py cold "$OUT/setup-cold-python.json" >"$OUT/cold.json"

echo "==> 8. Lambda cost: both revokers again, every call held 20-40 ms as AWS's are" >&2
coproc LAT { "$PY" tests/support/fault_proxy.py "$AWS_ENDPOINT_URL" --delay-ms 20-40 --seed 42; }
read -r LAT_URL <&"${LAT[0]}"
for impl in rust python; do
  "$BIN" setup --out "$OUT/setup-cost-$impl.json" >/dev/null
  "$PY" -c 'import json, sys; s = json.load(open(sys.argv[1])); s["endpoint"] = sys.argv[2]; json.dump(s, open(sys.argv[1], "w"))' \
    "$OUT/setup-cost-$impl.json" "$LAT_URL"
done
"$BIN" revoker --setup "$OUT/setup-cost-rust.json" >"$OUT/cost-rust.json"
"$PY" bench/python/revoker.py bench "$OUT/setup-cost-python.json" >"$OUT/cost-python.json"
kill "$LAT_PID" 2>/dev/null || true

echo "==> 3. pruner: $PRINCIPALS principals at concurrency 8 and 32" >&2
for n in $PRINCIPALS; do
  "$BIN" pruner --principals "$n" --concurrency 8 32 >"$OUT/pruner-$n.json"
done
LIMITED="${BENCH_LIMITED_PRINCIPALS:-200}"
if [ "$LIMITED" -gt 0 ]; then
  echo "==> 3b. pruner behind a 20 req/s IAM rate limit: $LIMITED principals" >&2
  coproc PROXY { "$PY" bench/python/ratelimit_proxy.py "$AWS_ENDPOINT_URL" 20; }
  read -r PROXY_URL <&"${PROXY[0]}"
  "$BIN" pruner --principals "$LIMITED" --concurrency 8 --via "$PROXY_URL" >"$OUT/pruner-limited.json"
  kill "$PROXY_PID" 2>/dev/null || true
fi

echo "==> 5. containment: 20 attack chains, calls per contained artifact and wall time" >&2
"$BIN" contain --attackers 20 >"$OUT/contain.json"

echo "==> 6. central mode: a pruning run over 5 member accounts, each behind its own 20 req/s" >&2
coproc PROXY { "$PY" bench/python/ratelimit_proxy.py "$AWS_ENDPOINT_URL" 20 per-key; }
read -r PROXY_URL <&"${PROXY[0]}"
"$BIN" central --accounts 5 --principals 60 --via "$PROXY_URL" >"$OUT/central.json"
kill "$PROXY_PID" 2>/dev/null || true

echo "==> 7. reliability: the revoker through the fault proxy at 0, 10 and 30 %, then with AWS's latency" >&2
EVENTS="${BENCH_FAULT_EVENTS:-1000}"
"$BIN" faults --events "$EVENTS" --rates 0 0.1 0.3 --seed 42 >"$OUT/faults.json"
"$BIN" faults --events "$EVENTS" --rates 0 --seed 42 --delay-ms 20-40 >"$OUT/latency.json"

echo "==> 4. zipped arm64 bootstraps" >&2
"$ROOT/scripts/package.sh" >"$OUT/package.txt"

"$PY" bench/report.py "$OUT" >"$ROOT/bench/RESULTS.md"
echo "==> bench/RESULTS.md written" >&2
sed -n '1,40p' "$ROOT/bench/RESULTS.md"
