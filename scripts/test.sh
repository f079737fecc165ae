#!/usr/bin/env bash
# Every test: formatting, clippy (warnings are errors), unit tests, aws-smithy-mocks
# fault tests, and the integration tests against a moto server started here.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_venv
echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
start_moto
export WARDEN_TEST_ENDPOINT="$AWS_ENDPOINT_URL"
echo "==> cargo test" >&2
cargo test --workspace --locked
