# Shared by demo.sh and test.sh: a Python virtual environment with moto server, and
# moto server (with Access Advisor added) started on 127.0.0.1 and stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
CBOR2_VERSION="${CBOR2_VERSION:-6.2.1}"

# pip_install VENV PACKAGE...: pip install into VENV, patient with a flaky network
# (a CI run once failed on a download cut five times at the same byte): pip's own
# retries and resumed downloads, then the whole install again, three times at most.
pip_install() {
  local venv="$1" attempt patient=(--retries 10 --timeout 60)
  shift
  # --resume-retries came with pip 25.1; the venv's own pip may be older
  local help
  help="$("$venv/bin/pip" install --help 2>/dev/null || true)"
  if [[ "$help" == *--resume-retries* ]]; then
    patient+=(--resume-retries 10)
  fi
  for attempt in 1 2 3; do
    if "$venv/bin/pip" install --quiet "${patient[@]}" "$@"; then
      return 0
    fi
    echo "==> pip install $* failed (attempt $attempt of 3)" >&2
    sleep $((attempt * 10))
  done
  return 1
}

ensure_venv() {
  if [ ! -x "$VENV/bin/moto_server" ]; then
    echo "==> installing moto[server] into $VENV" >&2
    python3 -m venv "$VENV"
    pip_install "$VENV" --upgrade pip
    pip_install "$VENV" "moto[server]==$MOTO_VERSION"
  fi
  # CloudWatch's protocol (CBOR) in front of moto (tests/support/cbor_rpc.py)
  if ! "$VENV/bin/python" -c 'import cbor2' 2>/dev/null; then
    pip_install "$VENV" "cbor2==$CBOR2_VERSION"
  fi
}

# ensure_chromium: a headless browser for the check of `warden assess --format html`
# (Debian's chromium), installed with apt when missing.
ensure_chromium() {
  if command -v chromium >/dev/null || command -v chromium-browser >/dev/null || command -v google-chrome >/dev/null; then
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2>/dev/null; then sudo=(sudo -n); else
      echo "==> a headless Chromium is needed (the HTML assessment's test): install Debian's chromium (apt-get install chromium)" >&2
      return 1
    fi
  fi
  echo "==> installing chromium (apt)" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_moto: starts moto server, exports AWS_ENDPOINT_URL and test credentials.
start_moto() {
  local port log
  port="$(free_port)"
  log="$ROOT/target/moto-$port.log"
  mkdir -p "$ROOT/target"
  # moto, with the IAM Access Advisor API the pruner needs (tests/support/moto_server.py)
  "$VENV/bin/python" "$ROOT/tests/support/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
      break
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      echo "moto server failed to start; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.2
  done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  unset AWS_PROFILE AWS_SESSION_TOKEN
  echo "==> moto server on $AWS_ENDPOINT_URL (log: $log)" >&2
}

TOOLS="$ROOT/.venv-tools"
CHECKOV="$ROOT/.venv-checkov"

# ensure_tools: cargo-lambda (with zig), cfn-lint and the SAM CLI in one virtual
# environment, checkov in another (their dependencies conflict), and the arm64 target.
ensure_tools() {
  if [ ! -x "$TOOLS/bin/sam" ] || [ ! -x "$TOOLS/bin/cargo-lambda" ] || [ ! -x "$TOOLS/bin/cfn-lint" ]; then
    echo "==> installing cargo-lambda, cfn-lint, aws-sam-cli into $TOOLS" >&2
    python3 -m venv "$TOOLS"
    pip_install "$TOOLS" --upgrade pip
    pip_install "$TOOLS" cargo-lambda==1.9.2 cfn-lint==1.58.0 aws-sam-cli==1.170.0
  fi
  if [ ! -x "$CHECKOV/bin/checkov" ]; then
    echo "==> installing checkov into $CHECKOV" >&2
    python3 -m venv "$CHECKOV"
    pip_install "$CHECKOV" --upgrade pip
    pip_install "$CHECKOV" checkov==3.3.30
  fi
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
  export PATH="$TOOLS/bin:$PATH"
}

# The Lambda functions, as cargo lambda builds them.
FUNCTIONS=(revoker pruner)
