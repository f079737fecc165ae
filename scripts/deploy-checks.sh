#!/usr/bin/env bash
# The deployment checks: cfn-lint and checkov (template.yaml, member.yaml), sam validate --lint, the template/code
# consistency test, and the arm64 release build of every function with its zipped size.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
ensure_tools
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0

echo "==> cfn-lint template.yaml member.yaml" >&2
cfn-lint template.yaml member.yaml
echo "==> sam validate --lint" >&2
sam validate --lint --template-file template.yaml
echo "==> checkov" >&2
"$CHECKOV/bin/checkov" --quiet --compact --skip-download --framework cloudformation -f template.yaml -f member.yaml
echo "==> template/code consistency" >&2
"$TOOLS/bin/python" tests/template/check_template.py
"$ROOT/scripts/package.sh"
