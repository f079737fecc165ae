"""Holds template.yaml against the code. Run by scripts/deploy-checks.sh.

- every environment variable the functions read is set on the function;
- every AWS operation the revoker's adapters call is allowed by the revoker's role;
- every parameter is used;
- the deny policy is the document of policies/deny-all-iam.json;
- the rule excludes the revoker's own role, under the name the template gives it.
"""
import json
import pathlib
import re
import sys

from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
template = cfn_yaml.load(str(ROOT / "template.yaml"))
resources = template["Resources"]
failures = []


def fail(msg):
    failures.append(msg)


def walk(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def pascal(snake):
    return "".join(part.capitalize() for part in snake.split("_"))


# 1. Environment variables read by the revoker (warden-core's Config, the function's
#    own config, and tracing's RUST_LOG).
config_src = (ROOT / "crates/warden-core/src/config.rs").read_text()
read_vars = set(re.findall(r'get\("([A-Z][A-Z0-9_]+)"\)', config_src))
if not read_vars:
    fail("found no variables in warden-core's config.rs: the pattern is out of date")
read_vars.add("RUST_LOG")
revoker_env = resources["RevokerFunction"]["Properties"]["Environment"]["Variables"]
for var in sorted(read_vars - set(revoker_env)):
    fail(f"RevokerFunction does not set {var}, which the code reads")
for var in sorted(set(revoker_env) - read_vars):
    fail(f"RevokerFunction sets {var}, which no code reads")

# 2. AWS operations the revoker calls, from the adapters' source (the operators-only
#    Inventory port is the CLI's, not the function's).
calls = set()
for path in sorted((ROOT / "crates/warden-aws/src").glob("*.rs")):
    src = path.read_text()
    src = re.sub(r"\nimpl Inventory for AwsAccount \{.*?\n\}\n", "\n", src, flags=re.S)
    for service, op in re.findall(r"\b(iam|sns|sqs|sts)\s*\.\s*([a-z][a-z0-9_]*)\(\)", src):
        calls.add(f"{service}:{pascal(op)}")
calls.discard("sts:GetCallerIdentity")  # needs no permission
if len(calls) < 10:
    fail(f"found only {sorted(calls)} in warden-aws: the pattern is out of date")
statements = resources["RevokerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
allowed = set()
for st in statements:
    if st["Effect"] == "Allow":
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        allowed.update(actions)
for op in sorted(calls - allowed):
    fail(f"the revoker calls {op}, which RevokerRole does not allow")
for st in statements:
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    if any("*" in a for a in actions):
        fail(f"statement {st.get('Sid')} allows a wildcard action {actions}")
    if st.get("Resource") == "*" and st.get("Sid") not in ("QuotaHasNoResource", "Tracing"):
        fail(f"statement {st.get('Sid')} allows Resource * where it could be scoped")
attach = next(st for st in statements if "iam:AttachUserPolicy" in st["Action"])
if attach.get("Condition", {}).get("ArnEquals", {}).get("iam:PolicyARN") != {"Ref": "DenyPolicy"}:
    fail("attaching is not limited to the deny policy (iam:PolicyARN)")

# 3. Every parameter is used.
used = set()
for key, value in walk({k: v for k, v in template.items() if k not in ("Parameters", "Metadata")}):
    if key == "Ref" and isinstance(value, str):
        used.add(value)
    if key == "Fn::Sub":
        text = value if isinstance(value, str) else value[0]
        used.update(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
for name in sorted(set(template["Parameters"]) - used):
    fail(f"parameter {name} is never used")

# 4. One deny document.
deny = resources["DenyPolicy"]["Properties"]["PolicyDocument"]
on_disk = json.loads((ROOT / "policies/deny-all-iam.json").read_text())
if json.loads(json.dumps(deny)) != on_disk:
    fail("DenyPolicy's document differs from policies/deny-all-iam.json")

# 5. The rule leaves out the revoker's own calls, by the role name the template sets.
role_name = resources["RevokerRole"]["Properties"]["RoleName"]
pattern = json.dumps(resources["IamEventsRule"]["Properties"]["EventPattern"])
if f"assumed-role/{role_name}/" not in pattern:
    fail(f"the rule does not exclude the role {role_name}")

if failures:
    print("template.yaml does not match the code:", file=sys.stderr)
    for f in failures:
        print(f"  - {f}", file=sys.stderr)
    sys.exit(1)
print(f"template.yaml matches the code: {len(read_vars)} variables, {len(calls)} operations, "
      f"{len(template['Parameters'])} parameters")
