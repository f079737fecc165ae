"""Holds template.yaml against the code. Run by scripts/deploy-checks.sh.

- every environment variable each function reads is set on it, and no other;
- every AWS operation each function's adapters call is allowed by its role, and the
  roles write only the tool's own policies and allow no IAM write their function's
  code does not make;
- every parameter is used;
- the deny and the quarantine policies are the documents of policies/deny-all-iam.json
  and policies/quarantine.json, and the revoker attaches only these two;
- CONTAIN's allowed values and default are the configuration's;
- the rule excludes exactly the tool's two roles;
- the queues' and the ledger table's resource policies, evaluated as AWS evaluates them,
  refuse a forged message or item from any principal but the tool's (attacks 2 and 3).
"""
import json
import pathlib
import re
import sys

from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
template = cfn_yaml.load(str(ROOT / "template.yaml"))


def central_view(node):
    """The template as deployed in central mode (MemberRoleName set): every
    `Fn::If [Central, yes, no]` is `yes` (AWS::NoValue dropped from lists), and so is
    `SessionScpOn` (SessionScp=on). Central mode adds to the stand-alone stack; the checks
    hold both."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"} and node["Fn::If"][0] in ("Central", "SessionScpOn"):
            return central_view(node["Fn::If"][1])
        return {k: central_view(v) for k, v in node.items()}
    if isinstance(node, list):
        return [central_view(v) for v in node if not (isinstance(v, dict) and v == {"Ref": "AWS::NoValue"})]
    return node


template = central_view(template)
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


def fn_span(src, name, pos=0):
    """(start, end) of the first `fn name` at or after `pos`, body brace-matched; None if absent."""
    m = re.compile(r"\n\s*(pub(\(crate\))? )?(async )?fn " + name + r"\b").search(src, pos)
    if not m:
        return None
    depth, j = 0, src.index("{", m.end())
    while True:
        depth += {"{": 1, "}": -1}.get(src[j], 0)
        j += 1
        if depth == 0:
            return m.start(), j


def strip_fns(src, names):
    """`src` without the functions `names`."""
    for name in names:
        while (span := fn_span(src, name)) is not None:
            src = src[: span[0]] + src[span[1]:]
    return src


def only_fns(src, names):
    """The functions `names` of `src`."""
    out = []
    for name in names:
        span = fn_span(src, name)
        if span is None:
            fail(f"no fn {name}: the check is out of date")
            continue
        out.append(src[span[0] : span[1]])
    return "\n".join(out)


def operations(sources):
    calls = set()
    for src in sources:
        # The IAM calls written `send!("UpdateSSHPublicKey", iam.update_ssh_public_key()…)`
        # (actions.rs): the literal spells the action as IAM does, acronyms included,
        # which the method's name does not (`UpdateSshPublicKey`).
        spelled = {op.lower(): op for op in re.findall(r'send!\(\s*"([A-Za-z]+)"', src)}
        found = set()
        for service, op in re.findall(r"\b(iam|sns|sqs|sts|ddb|dynamodb|secrets|cloudtrail|organizations|cw|hub)\s*\.\s*([a-z][a-z0-9_]*)\(\)", src):
            service = {"ddb": "dynamodb", "secrets": "secretsmanager", "cw": "cloudwatch", "hub": "securityhub"}.get(service, service)
            name = pascal(op)
            if service == "iam":
                found.add(name.lower())
                name = spelled.get(name.lower(), name)
            calls.add(f"{service}:{name}")
        for low, op in sorted(spelled.items()):
            if low not in found:
                fail(f"send!(\"{op}\", …) names no iam.<call>() of the same name: the check's parser is out of date, or the label is wrong")
    calls.discard("sts:GetCallerIdentity")  # needs no permission
    # Batch operations are authorised by the single operation's action.
    aliases = {"sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage"}
    return {aliases.get(c, c) for c in calls}


def env_vars(path):
    src = (ROOT / path).read_text()
    return set(re.findall(r'(?:get|number|flag|names)\(\s*"([A-Z][A-Z0-9_]+)"', src))


AWS = ROOT / "crates/warden-aws/src"
read = lambda name: (AWS / name).read_text()
# CLI-only operations: the operators' Inventory, `warden init`, restore's ARN look-up,
# and restore's putting back of what the revoker undid (and contained: `put_back` and
# the password it makes, actions.rs).
CLI_ONLY = [
    "ensure_ledger_table", "principal_arn", "put_back", "new_password", "remove_boundary",
    "delete_boundary_policy", "remove_revocation", "caller_records", "revocations",
    "give_password",
]
FUNCTIONS = {
    "Revoker": {
        "vars": env_vars("crates/warden-core/src/config.rs"),
        "sources": [
            strip_fns(re.sub(r"\nimpl Inventory for AwsAccount \{.*?\n\}\n", "\n", read("iam.rs"), flags=re.S), CLI_ONLY),
            strip_fns(read("enforcer.rs"), CLI_ONLY),
            read("notify.rs"),
            # The deferral and dead-letter queues (`receive` and `delete` are `warden consume`'s).
            only_fns(read("queue.rs"), ["defer", "send"]),
            read("trail.rs"),
            # The canary's arrival (the alarms are the pruner's, in central mode).
            strip_fns(read("canary.rs"), ["keep_canary_alarms"]),
            strip_fns(read("startup.rs"), ["check_pruner"]),
            only_fns(read("prune.rs"), ["quotas", "subjects"]),
            strip_fns(read("trust.rs"), CLI_ONLY),
            strip_fns(read("records.rs"), CLI_ONLY),
            strip_fns(read("revocation.rs"), CLI_ONLY),
            only_fns(read("prune.rs"), ["default_document", "new_default_version", "delete_oldest_version"]),
            # Containment (issue 12): `take_away`, the lookups of the plan.
            strip_fns(read("actions.rs"), CLI_ONLY),
            # Central mode: the member roles assumed.
            strip_fns(read("members.rs"), ["active_accounts"]),
            # SESSION_SCP=on: the tool's SCPs on the organization's accounts.
            read("scp.rs"),
        ],
    },
    "Pruner": {
        "vars": env_vars("crates/warden-core/src/prune_config.rs"),
        "sources": [
            strip_fns(read("prune.rs"), CLI_ONLY),
            strip_fns(read("ledger.rs"), CLI_ONLY),
            read("runs.rs"),
            only_fns(read("queue.rs"), ["enqueue"]),
            only_fns(read("enforcer.rs"), ["attach_policy", "detach_policy", "tag", "untag"]),
            only_fns(read("notify.rs"), ["publish"]),
            only_fns(read("startup.rs"), ["check_pruner"]),
            read("chat.rs"),
            # The trust ledger: read each pass, the baseline taken when there is none.
            only_fns(read("trust.rs"), ["trust_set", "put_baseline", "get_item"]),
            # Central mode: the member roles assumed, the organization's accounts listed,
            # one canary alarm kept per account.
            read("members.rs"),
            only_fns(read("canary.rs"), ["keep_canary_alarms"]),
            # Unused credentials (issue 21): the report, users' keys and passwords.
            strip_fns(read("credentials.rs"), CLI_ONLY),
            # SECURITY_HUB=true: the assessment's inventory, and Security Hub.
            read("assess.rs"),
            read("security_hub.rs"),
        ],
    },
}
counts = {}
for fn, spec in FUNCTIONS.items():
    # 1. Environment variables the function's configuration reads.
    read_vars = spec["vars"] | {"RUST_LOG"}
    if len(read_vars) < 5:
        fail(f"found only {sorted(read_vars)} for {fn}: the pattern is out of date")
    env = resources[f"{fn}Function"]["Properties"]["Environment"]["Variables"]
    for var in sorted(read_vars - set(env)):
        fail(f"{fn}Function does not set {var}, which the code reads")
    for var in sorted(set(env) - read_vars):
        fail(f"{fn}Function sets {var}, which no code reads")

    # 2. AWS operations the function's adapters call, each allowed by its role.
    calls = operations(spec["sources"])
    if len(calls) < 8:
        fail(f"found only {sorted(calls)} for {fn}: the pattern is out of date")
    statements = list(resources[f"{fn}Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
    # Conditional policies of the role (e.g. the Slack secret's).
    for res in resources.values():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::RolePolicy" and props.get("RoleName") == {"Ref": f"{fn}Role"}:
            statements += props["PolicyDocument"]["Statement"]
    allowed = set()
    for st in statements:
        if st["Effect"] == "Allow":
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            allowed.update(actions)
    for op in sorted(calls - allowed):
        fail(f"the {fn.lower()} calls {op}, which {fn}Role does not allow")
    # Least privilege: no IAM write the function's code never makes (tagging a policy
    # is authorised for a CreatePolicy that tags it).
    reads = ("iam:Get", "iam:List", "iam:Generate")
    implied = {"iam:TagPolicy"} if "iam:CreatePolicy" in calls else set()
    for op in sorted(a for a in allowed - calls - implied if a.startswith("iam:") and not a.startswith(reads)):
        fail(f"{fn}Role allows {op}, which the {fn.lower()} never calls")
    for st in statements:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if any("*" in a for a in actions):
            fail(f"{fn}Role statement {st.get('Sid')} allows a wildcard action {actions}")
        if st.get("Resource") == "*" and st.get("Sid") not in (
            "QuotaHasNoResource", "Tracing", "InventoryHasNoResource", "BaselineHasNoResource",
            "LookupHasNoResource", "FindByIdHasNoResource", "ListAccountsHasNoResource",
            "OrganizationHasNoResource", "CredentialReportHasNoResource",
        ):
            fail(f"{fn}Role statement {st.get('Sid')} allows Resource * where it could be scoped")
    counts[fn] = (len(read_vars), len(calls))

revoker_statements = resources["RevokerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
tool_policies = [{"Ref": "DenyPolicy"}, {"Ref": "QuarantinePolicy"}]
attaching = [st for st in revoker_statements if any(
    a.startswith("iam:Attach") for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))]
if not attaching:
    fail("no statement of RevokerRole attaches: the check is out of date")
# A role's sessions deny (ROLE_MODE=session, at the role's inline quota): only the tool's
# sessions policies, only to roles.
sessions_arn = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/iam-warden/iam-warden-sessions-*"}
for st in attaching:
    if st.get("Sid") == "AttachOnlySessionDenies":
        if (st["Action"] != "iam:AttachRolePolicy"
                or st.get("Condition") != {"ArnLike": {"iam:PolicyARN": sessions_arn}}):
            fail("RevokerRole statement AttachOnlySessionDenies may attach more than the sessions denies, to more than roles")
        continue
    arns = st.get("Condition", {}).get("ArnEquals", {}).get("iam:PolicyARN")
    arns = arns if isinstance(arns, list) else [arns]
    if len(st.get("Condition", {})) != 1 or sorted(map(json.dumps, arns)) != sorted(map(json.dumps, tool_policies)):
        fail(f"RevokerRole statement {st.get('Sid')} may attach policies other than exactly the deny and the quarantine (iam:PolicyARN {arns})")
pruner_statements = list(resources["PrunerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
# With its conditional policies (UnusedPasswords=remove's, the Slack secret's).
pruner_statements += [st for res in resources.values()
                      if res["Type"] == "AWS::IAM::RolePolicy" and res["Properties"].get("RoleName") == {"Ref": "PrunerRole"}
                      for st in res["Properties"]["PolicyDocument"]["Statement"]]
own = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/iam-warden/${PrunePolicyPrefix}*"
attach = next(st for st in pruner_statements if "iam:AttachUserPolicy" in st["Action"])
if attach.get("Condition", {}).get("ArnLike", {}).get("iam:PolicyARN") != {"Fn::Sub": own}:
    fail("the pruner's attaching is not limited to its own policies (iam:PolicyARN)")
for st in pruner_statements:
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    writes = [a for a in actions if a.startswith(("iam:Create", "iam:Delete", "iam:Tag")) and "Policy" in a]
    if writes and st.get("Resource") != {"Fn::Sub": own}:
        fail(f"PrunerRole writes policies {writes} outside /iam-warden/{'{prefix}'}*")

for fn in FUNCTIONS:
    for st in resources[f"{fn}Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if "iam:TagUser" in actions:
            keys = st.get("Condition", {}).get("ForAllValues:StringLike", {}).get("aws:TagKeys")
            if keys != "iam-warden:*":
                fail(f"{fn}Role may tag principals with keys other than iam-warden:*")

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

# 4. One deny document, one quarantine document, both under the tool's path (the
# revoker re-creates only policies under /iam-warden/; the configuration refuses a
# quarantine elsewhere).
for name, path in (("DenyPolicy", "policies/deny-all-iam.json"), ("QuarantinePolicy", "policies/quarantine.json")):
    policy = resources.get(name)
    if policy is None or policy["Type"] != "AWS::IAM::ManagedPolicy":
        fail(f"no managed policy {name}")
        continue
    on_disk = json.loads((ROOT / path).read_text())
    if json.loads(json.dumps(policy["Properties"]["PolicyDocument"])) != on_disk:
        fail(f"{name}'s document differs from {path}")
    if policy["Properties"].get("Path") != "/iam-warden/":
        fail(f"{name} is not under the path /iam-warden/")
revoker_env = resources["RevokerFunction"]["Properties"]["Environment"]["Variables"]
if revoker_env.get("QUARANTINE_POLICY_ARN") != {"Ref": "QuarantinePolicy"}:
    fail("the revoker's QUARANTINE_POLICY_ARN is not the QuarantinePolicy")

# 4b. CONTAIN: the parameter's values are exactly those the configuration accepts, and
# its default is the configuration's default, `revoked`.
config_src = (ROOT / "crates/warden-core/src/config.rs").read_text()
arms = re.search(r'get\("CONTAIN"\)(.*?)\};', config_src, flags=re.S)
code_values = set(re.findall(r'Some\("([a-z-]+)"\)', arms.group(1))) if arms else set()
code_default = re.findall(r'None \| Some\("([a-z-]+)"\)', arms.group(1)) if arms else []
if len(code_values) < 2 or len(code_default) != 1:
    fail(f"found CONTAIN values {sorted(code_values)}, default {code_default} in config.rs: the check is out of date")
contain = template["Parameters"].get("Contain", {})
if set(map(str, contain.get("AllowedValues", []))) != code_values:
    fail(f"the Contain parameter allows {contain.get('AllowedValues')}, the configuration accepts {sorted(code_values)}")
if contain.get("Default") != "revoked" or code_default != ["revoked"]:
    fail(f"CONTAIN's default is {contain.get('Default')!r} in the template and {code_default} in config.rs, not revoked")
if revoker_env.get("CONTAIN") != {"Ref": "Contain"}:
    fail("the revoker's CONTAIN is not the Contain parameter")

# 5. The rule leaves out the tool's own calls (the revocations, the containment's
# detaching, deactivating, deleting, the pruner's policies): exactly its two roles, by
# ARN. Every branch of the pattern's $or excludes them: an anything-but on the session
# issuer's ARN, a caller with no session issuer (not a role session), or the pruner's
# canary on the canary role.
tool_roles = sorted(json.dumps({"Fn::GetAtt": [role, "Arn"]}) for role in ("RevokerRole", "PrunerRole"))
branches = resources["IamEventsRule"]["Properties"]["EventPattern"]["detail"].get("$or", [])
excluding = 0
for branch in branches:
    issuer = branch.get("userIdentity", {}).get("sessionContext", {}).get("sessionIssuer", {}).get("arn")
    if issuer and len(issuer) == 1 and isinstance(issuer[0], dict) and "anything-but" in issuer[0]:
        if sorted(map(json.dumps, issuer[0]["anything-but"])) != tool_roles:
            fail(f"the rule's anything-but on the session issuer is {issuer[0]['anything-but']}, not exactly the tool's two roles")
        excluding += 1
    elif issuer == [{"exists": False}]:
        pass
    elif branch.get("eventName") == ["TagRole"] and branch.get("requestParameters") == {"roleName": [{"Ref": "CanaryRole"}]}:
        pass
    else:
        fail(f"a branch of the rule's pattern may let the tool's own calls through: {branch}")
if excluding != 1:
    fail(f"the rule's pattern has {excluding} anything-but branches on the session issuer, not one: the tool's own calls are not excluded")
if resources["RevokerFunction"]["Properties"]["Environment"]["Variables"].get("PRUNER_ROLE_ARN") != {"Fn::GetAtt": ["PrunerRole", "Arn"]}:
    fail("the revoker is not told the pruner's role (PRUNER_ROLE_ARN)")

# 6. Trust: the revoker removes users only from the account's groups (the admin group
# for an escalation, any group for containment), and untags only the exempt tag's key;
# its deferral queue is one of its event sources.
undo = [st for st in revoker_statements if "iam:RemoveUserFromGroup" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])]
if len(undo) != 1 or undo[0]["Action"] != "iam:RemoveUserFromGroup" or undo[0]["Resource"] != {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*"}:
    fail("the revoker's RemoveUserFromGroup is not exactly one statement on the account's groups")
for st in revoker_statements:
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    if "iam:UntagUser" in actions and st.get("Sid") != "RecordOnlyOwnTags":
        keys = st.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("aws:TagKeys")
        if keys != [{"Fn::Select": [0, {"Fn::Split": ["=", {"Ref": "ExemptTag"}]}]}]:
            fail(f"RevokerRole statement {st.get('Sid')} untags keys other than the exempt tag's")
sources = [e["Properties"]["Queue"] for e in resources["RevokerFunction"]["Properties"]["Events"].values()]
if {"Fn::GetAtt": ["DeferralQueue", "Arn"]} not in sources:
    fail("the deferral queue is not an event source of the revoker")
env = resources["RevokerFunction"]["Properties"]["Environment"]["Variables"]
if env.get("DEFERRAL_QUEUE_URL") != {"Ref": "DeferralQueue"} or env.get("LEDGER_TABLE") != {"Ref": "LedgerTable"}:
    fail("the revoker is not given the deferral queue and the ledger table")

# 7. Revocation (issue 10): the boundaries the revoker may set are only its own (and the
# quarantine, the containment's last resort at every quota), the policies it may write
# only the deny and its boundaries.
boundary_arn = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/iam-warden/iam-warden-boundary-*"}
for st in revoker_statements:
    actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    if any(a.endswith("PermissionsBoundary") and not a.startswith("iam:Delete") for a in actions):
        if st.get("Condition", {}).get("ArnLike", {}).get("iam:PermissionsBoundary") != [boundary_arn, {"Ref": "QuarantinePolicy"}]:
            fail(f"RevokerRole statement {st.get('Sid')} may set boundaries other than its own")
    # Removing a boundary (one put on a tool role) only from the tool's own roles.
    if any(a.startswith("iam:Delete") and a.endswith("PermissionsBoundary") for a in actions):
        if actions != ["iam:DeleteRolePermissionsBoundary"] or st.get("Resource") != {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/iam-warden/*"}:
            fail(f"RevokerRole statement {st.get('Sid')} removes boundaries from principals other than the tool's roles")
    writes = [a for a in actions if a.startswith(("iam:CreatePolicy", "iam:DeletePolicy"))]
    targets = st.get("Resource") if isinstance(st.get("Resource"), list) else [st.get("Resource")]
    if writes and any(r not in (*tool_policies, boundary_arn, sessions_arn) for r in targets):
        fail(f"RevokerRole statement {st.get('Sid')} writes policies {writes} other than the deny, the quarantine, its boundaries and its sessions denies")

# 8. The rule's state follows READ_ONLY_CALLS (issue 13): read-only management events
# reach a rule only in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS. Evaluated for every
# allowed value of the parameter, so that the coupling cannot drift.
def evaluate(node, params):
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            return params.get(arg, arg)
        if fn == "Fn::Not":
            return not evaluate(arg[0], params)
        if fn == "Fn::Equals":
            return evaluate(arg[0], params) == evaluate(arg[1], params)
        if fn == "Condition":
            return evaluate(template["Conditions"][arg], params)
        if fn == "Fn::If":
            cond, yes, no = arg
            return evaluate(yes if evaluate(template["Conditions"][cond], params) else no, params)
    return node


state = resources["IamEventsRule"]["Properties"]["State"]
if revoker_env.get("READ_ONLY_CALLS") != {"Ref": "ReadOnlyCalls"}:
    fail("the revoker's READ_ONLY_CALLS is not the ReadOnlyCalls parameter")
for value in template["Parameters"]["ReadOnlyCalls"]["AllowedValues"]:
    got = evaluate(state, {"ReadOnlyCalls": value})
    want = "ENABLED" if value == "ignore" else "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    if got != want:
        fail(f"with ReadOnlyCalls={value} the rule's state is {got}, not {want}: read-only calls would {'never arrive' if want != 'ENABLED' else 'flood the revoker'}")

# 9. AWS behaviours the stack relies on that moto does not check (docs/aws-behaviours.md).
target = resources["IamEventsRule"]["Properties"]["Targets"][0]
if not target.get("SqsParameters", {}).get("MessageGroupId"):
    fail("the rule's FIFO queue target has no MessageGroupId: EventBridge would refuse to deliver")
if str(resources["DeferralQueue"]["Properties"].get("FifoQueue", "false")).lower() == "true":
    fail("the deferral queue is FIFO: FIFO queues have no per-message delay")
for queue, fn in (("EventsQueue", "Revoker"), ("DeferralQueue", "Revoker"), ("WorkQueue", "Pruner")):
    visibility = int(resources[queue]["Properties"]["VisibilityTimeout"])
    timeout = int(resources[f"{fn}Function"]["Properties"]["Timeout"])
    if visibility < 6 * timeout:
        fail(f"{queue}'s visibility timeout {visibility}s is under six times {fn}Function's timeout {timeout}s")
key_statements = resources["WardenKey"]["Properties"]["KeyPolicy"]["Statement"]
if not any(st.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com" for st in key_statements):
    fail("the topic's key does not admit cloudwatch.amazonaws.com: the alarms could not publish")
if "UsEast1Only" not in template.get("Rules", {}):
    fail("the template does not refuse regions other than us-east-1")

# 10. Self-protection (issue 11): the tampering rule covers every call the code treats as
# tampering, feeds the revoker's queue in a group of its own, and watches the IAM rule,
# which watches it back; the canary's permission is exactly one action on exactly the
# canary role; its alarm fires after 26 hours without one.
tamper_src = (ROOT / "crates/warden-core/src/tamper.rs").read_text()
calls_block = tamper_src[tamper_src.index("const PIPELINE_CALLS"):tamper_src.index("];", tamper_src.index("const PIPELINE_CALLS"))]
code_calls = set(re.findall(r'"([A-Z][A-Za-z]+)"', calls_block))
tamper = resources["TamperingRule"]["Properties"]
pattern_names = tamper["EventPattern"]["detail"]["eventName"]
covered = {n if isinstance(n, str) else n["prefix"] for n in pattern_names}
for call in sorted(code_calls - covered):
    fail(f"the tampering rule does not match {call}, which the revoker treats as tampering")
for call in sorted(covered - code_calls):
    fail(f"the tampering rule matches {call}, which the revoker does not treat as tampering")
if tamper["Targets"][0]["Arn"] != {"Fn::GetAtt": ["EventsQueue", "Arn"]} or tamper["Targets"][0]["SqsParameters"]["MessageGroupId"] == target["SqsParameters"]["MessageGroupId"]:
    fail("the tampering rule does not feed the revoker's queue in a group of its own")
rules = set(revoker_env["TOOL_RULE_NAMES"].split(","))
if rules != {resources["IamEventsRule"]["Properties"]["Name"], tamper["Name"]}:
    fail("TOOL_RULE_NAMES is not exactly the two rules")
iam_pattern = resources["IamEventsRule"]["Properties"]["EventPattern"]
if "events.amazonaws.com" not in iam_pattern["detail"]["eventSource"]:
    fail("the IAM rule does not watch EventBridge's calls (the tampering rule's changes)")
for fn_name in revoker_env["TOOL_FUNCTION_NAMES"].split(","):
    if fn_name not in (resources["RevokerFunction"]["Properties"]["FunctionName"], resources["PrunerFunction"]["Properties"]["FunctionName"]):
        fail(f"TOOL_FUNCTION_NAMES names {fn_name}, not one of the tool's functions")
queue_names = {resources[q]["Properties"]["QueueName"] for q in resources if resources[q]["Type"] == "AWS::SQS::Queue"}
if set(revoker_env["TOOL_QUEUE_NAMES"].split(",")) != queue_names:
    fail(f"TOOL_QUEUE_NAMES is not exactly the stack's queues {sorted(queue_names)}")
canary = [st for st in pruner_statements if "iam:TagRole" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]) and st.get("Sid") == "Canary"]
if len(canary) != 1 or canary[0]["Action"] != "iam:TagRole" or canary[0]["Resource"] != {"Fn::GetAtt": ["CanaryRole", "Arn"]}:
    fail("the canary's permission is not exactly iam:TagRole on exactly the canary role")
alarm = resources.get("CanaryMissingAlarm", {}).get("Properties", {})
if (alarm.get("MetricName"), alarm.get("Namespace"), alarm.get("TreatMissingData")) != ("CanaryArrived", "iam-warden", "breaching") or alarm.get("Period", 0) * alarm.get("EvaluationPeriods", 0) != 26 * 3600:
    fail("no alarm fires after 26 hours without a canary")
if "requestParameters" not in json.dumps(iam_pattern) or "CanaryRole" not in json.dumps(iam_pattern):
    fail("the IAM rule does not let the pruner's canary through")

# 11. The guard SCP (policies/guard-scp.json) denies every call the revoker treats as
# tampering with a named resource, fits the SCP size limit, and spares the tool's roles.
scp_text = (ROOT / "policies/guard-scp.json").read_text()
scp = json.loads(scp_text)
if len(re.sub(r"\s", "", scp_text)) > 5120:
    fail("the guard SCP is over the 5,120 characters an SCP may have")
scp_actions = {a for st in scp["Statement"] for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
prefix = {"events.amazonaws.com": "events", "lambda.amazonaws.com": "lambda", "sqs.amazonaws.com": "sqs",
          "sns.amazonaws.com": "sns", "dynamodb.amazonaws.com": "dynamodb", "cloudtrail.amazonaws.com": "cloudtrail"}
services_found = re.findall(r'\(\s*"([a-z]+\.amazonaws\.com)",\s*&\[(.*?)\]', calls_block, flags=re.S)
if len(services_found) != 6:
    fail(f"found {len(services_found)} services in PIPELINE_CALLS, not 6: the check is out of date")
for source, names in services_found:
    for call in re.findall(r'"([A-Za-z]+)"', names):
        if call in ("Unsubscribe", "UpdateTimeToLive", "DeleteResourcePolicy", "PutResourcePolicy"):
            continue  # by subscription ARN or policy: the notice is the guard
        if f"{prefix[source]}:{call}" not in scp_actions:
            fail(f"the guard SCP does not deny {prefix[source]}:{call}")
if "iam-warden-revoker" not in scp_text or "iam-warden-pruner" not in scp_text:
    fail("the guard SCP would deny the tool's own roles")

# 12. Forged input (issue 18, attacks 2 and 3): every queue of the stack refuses a message
# from any sender but the ones that write it (EventBridge's two rules for the events
# queue, the revoker for its deferral and dead-letter queues, the pruner for its work),
# and the ledger table refuses item writes from any principal but the tool's roles and
# the deployer. The resource policies are evaluated as AWS evaluates them: an explicit
# Deny whose conditions all hold refuses, whatever the caller's own policies allow; a
# negated operator (ArnNotEquals...) holds when its key is absent from the request.
ACCOUNT = "111122223333"
PARAMS = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": "us-east-1"}


def arn_of(logical):
    res = resources[logical]
    props = res.get("Properties", {})
    kind = res["Type"]
    if kind == "AWS::IAM::Role":
        return f"arn:aws:iam::{ACCOUNT}:role{props.get('Path', '/')}{props['RoleName']}"
    if kind == "AWS::Events::Rule":
        return f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{props['Name']}"
    if kind == "AWS::SQS::Queue":
        return f"arn:aws:sqs:us-east-1:{ACCOUNT}:{props['QueueName']}"
    if kind == "AWS::DynamoDB::Table":
        return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{props['TableName']}"
    raise KeyError(f"no ARN for {logical} ({kind})")


def render(node, params):
    """A template value as the deployed stack has it (ARNs in account 111122223333)."""
    if isinstance(node, list):
        return [render(v, params) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Fn::GetAtt":
            name, attribute = arg.split(".") if isinstance(arg, str) else arg
            if attribute == "Arn":
                return arn_of(name)
        if fn == "Fn::Sub":
            text = arg if isinstance(arg, str) else arg[0]
            return re.sub(r"\$\{([A-Za-z0-9:]+)\}", lambda m: str({**PARAMS, **params}[m.group(1)]), text)
        if fn == "Ref":
            return {**PARAMS, **params}.get(arg, arg)
    if isinstance(node, dict):
        return {k: render(v, params) for k, v in node.items()}
    return node


def arn_match(pattern, value):
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), value) is not None


def condition_holds(operator, key, wanted, request):
    wanted = wanted if isinstance(wanted, list) else [wanted]
    value = request.get(key)
    negated = "Not" in operator
    if value is None:
        return negated
    base = operator.replace("Not", "")
    if base in ("ArnEquals", "ArnLike"):
        hit = any(arn_match(w, value) for w in wanted)
    elif base == "StringEquals":
        hit = value in wanted
    elif base == "Bool":
        hit = str(value).lower() in [str(w).lower() for w in wanted]
    else:
        fail(f"the check cannot evaluate the condition operator {operator}: extend it")
        return False
    return hit != negated


def refused(statements, action, resource, request, params):
    """Whether an explicit Deny of `statements` refuses `request`."""
    for st in statements:
        if st["Effect"] != "Deny" or st.get("Principal") != "*":
            continue
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if not any(arn_match(a, action) for a in actions):
            continue
        targets = render(st["Resource"], params)
        targets = targets if isinstance(targets, list) else [targets]
        if not any(arn_match(t, resource) for t in targets):
            continue
        conditions = render(st.get("Condition", {}), params)
        if all(condition_holds(op, key, wanted, request)
               for op, keys in conditions.items() for key, wanted in keys.items()):
            return True
    return False


def role(name):
    return {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "aws:SecureTransport": "true"}


def rule(name):
    return {"aws:SourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{name}", "aws:SecureTransport": "true"}


REVOKER, PRUNER = role("iam-warden/iam-warden-revoker"), role("iam-warden/iam-warden-pruner")
FORGERS = {
    "a PowerUserAccess role": role("PowerUser"),
    "an admin user": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/alice", "aws:SecureTransport": "true"},
    "the caller's own EventBridge rule": rule("mal-forwarder"),
}
senders = {
    "EventsQueue": [rule(resources["IamEventsRule"]["Properties"]["Name"]), rule(resources["TamperingRule"]["Properties"]["Name"]),
                    rule(resources["CentralEventsRule"]["Properties"]["Name"])],
    "DeadLetterQueue": [REVOKER],
    "DeferralQueue": [REVOKER],
    "DeferralDeadLetterQueue": [REVOKER],
    "WorkQueue": [PRUNER],
    "WorkDeadLetterQueue": [PRUNER],
}
queues = [q for q in resources if resources[q]["Type"] == "AWS::SQS::Queue"]
for queue in queues:
    policies = [r["Properties"]["PolicyDocument"]["Statement"] for r in resources.values()
                if r["Type"] == "AWS::SQS::QueuePolicy" and {"Ref": queue} in r["Properties"]["Queues"]]
    statements = [st for doc in policies for st in doc]
    if queue not in senders:
        fail(f"the queue {queue} has no known senders: say who may write it")
        continue
    for who, request in FORGERS.items():
        if not refused(statements, "sqs:SendMessage", arn_of(queue), request, {}):
            fail(f"{queue} accepts a message from {who}: a forged event would be decided")
    for request in senders[queue]:
        if refused(statements, "sqs:SendMessage", arn_of(queue), request, {}):
            fail(f"{queue} refuses its own sender {request}")
table = resources["LedgerTable"]["Properties"]
table_statements = table.get("ResourcePolicy", {}).get("PolicyDocument", {}).get("Statement", [])
writes = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
          "dynamodb:PartiQLUpdate", "dynamodb:RestoreTableToPointInTime", "dynamodb:DeleteResourcePolicy"]
for deployer in ("", "Deployer"):
    params = {"DeployerRoleName": deployer}
    for write in writes:
        for who, request in list(FORGERS.items())[:2] + [("a role named like the deployer elsewhere", role("other/Deployer"))]:
            if not refused(table_statements, write, arn_of("LedgerTable"), request, params):
                fail(f"the ledger table lets {who} {write} (DeployerRoleName={deployer!r}): the trust ledger would be rewritten")
        own = [REVOKER, PRUNER] + ([role(deployer)] if deployer else [])
        for request in own:
            if refused(table_statements, write, arn_of("LedgerTable"), request, params):
                fail(f"the ledger table refuses {write} to {request['aws:PrincipalArn']}")
if "sqs:SendMessage" not in scp_actions:
    fail("the guard SCP does not deny sqs:SendMessage to the tool's queues")

# 13. Central mode (issue 20): member.yaml's member role may do exactly what the revoker
# and the pruner do in an account of their own (their IAM and CloudTrail statements, the
# same actions and conditions), and only the central functions' roles may assume it; the
# forwarding rule leaves out the member role's own calls but the canary and puts events
# only on the central bus; the central bus admits the organization alone and its rule
# only AWS's sources; the functions may assume only the member role.
member = central_view(cfn_yaml.load(str(ROOT / "member.yaml")))
mres = member["Resources"]
CENTRAL = "444455556666"
MPARAMS = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": "us-east-1",
           "CentralAccountId": CENTRAL, "MemberRoleName": "iam-warden-member"}
policies = {p["PolicyName"]: p["PolicyDocument"]["Statement"] for p in mres["MemberRole"]["Properties"]["Policies"]}
# The member role's conditional policies (e.g. `pruner-unused-passwords`) are its function's.
for res in mres.values():
    props = res.get("Properties", {})
    if res["Type"] == "AWS::IAM::RolePolicy" and props.get("RoleName") == {"Ref": "MemberRole"}:
        policies[props["PolicyName"].split("-")[0]] += props["PolicyDocument"]["Statement"]
local = lambda st: all(a.split(":")[0] in ("iam", "cloudtrail") for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))
for fn, statements in (("revoker", revoker_statements), ("pruner", pruner_statements)):
    want = {st["Sid"]: st for st in statements if local(st)}
    got = {st["Sid"]: st for st in policies.get(fn, [])}
    for sid in sorted(set(want) - set(got)):
        fail(f"the member role's {fn} policy lacks {sid}: the central {fn} could not do it in a member")
    for sid in sorted(set(got) - set(want)):
        fail(f"the member role's {fn} policy has {sid}, which the {fn} does not have in an account of its own")
    for sid in sorted(set(want) & set(got)):
        for key in ("Effect", "Action", "Condition"):
            if json.dumps(want[sid].get(key), sort_keys=True) != json.dumps(got[sid].get(key), sort_keys=True):
                fail(f"the member role's {fn} statement {sid} differs in {key} from the {fn}'s own")
        if sid not in ("RestoreOwnTrust", "RemoveBoundariesFromOwnRoles") and json.dumps(want[sid]["Resource"], sort_keys=True) != json.dumps(got[sid]["Resource"], sort_keys=True):
            fail(f"the member role's {fn} statement {sid} differs in Resource from the {fn}'s own")
member_role_arn = f"arn:aws:iam::{ACCOUNT}:role/iam-warden-member"
for sid in ("RestoreOwnTrust", "RemoveBoundariesFromOwnRoles"):
    st = next((s for s in policies.get("revoker", []) if s.get("Sid") == sid), None)
    if st is None or render(st["Resource"], MPARAMS) != member_role_arn:
        fail(f"the member role's {sid} is not on exactly the member role")
trust = mres["MemberRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]


def admitted(principal):
    request = {"aws:PrincipalArn": principal}
    for st in trust:
        named = render(st.get("Principal", {}).get("AWS"), MPARAMS)
        account = principal.split(":")[4]
        if st["Effect"] != "Allow" or named not in (f"arn:aws:iam::{account}:root", principal):
            continue
        if all(condition_holds(op, key, render(v, MPARAMS), request)
               for op, keys in st.get("Condition", {}).items() for key, v in keys.items()):
            return True
    return False


for who in ("iam-warden/iam-warden-revoker", "iam-warden/iam-warden-pruner"):
    if not admitted(f"arn:aws:iam::{CENTRAL}:role/{who}"):
        fail(f"the member role does not admit the central {who}")
for who in (f"arn:aws:iam::{CENTRAL}:role/PowerUser", f"arn:aws:iam::{CENTRAL}:role/iam-warden/other",
            f"arn:aws:iam::{ACCOUNT}:role/iam-warden/iam-warden-revoker", f"arn:aws:iam::{ACCOUNT}:user/alice"):
    if admitted(who):
        fail(f"the member role admits {who}, not a central function")
bus = f"arn:aws:events:us-east-1:{CENTRAL}:event-bus/iam-warden"
forward = mres["ForwardingRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
if [(st["Action"], render(st["Resource"], MPARAMS)) for st in forward] != [("events:PutEvents", bus)]:
    fail("the forwarding role may do more than put events on the central bus")
for name in ("IamForwardingRule", "TamperingForwardingRule"):
    targets = mres[name]["Properties"]["Targets"]
    if [render(t["Arn"], MPARAMS) for t in targets] != [bus] or any(t.get("RoleArn") != {"Fn::GetAtt": ["ForwardingRole", "Arn"]} for t in targets):
        fail(f"{name} does not forward to exactly the central bus with the forwarding role")
mbranches = mres["IamForwardingRule"]["Properties"]["EventPattern"]["detail"].get("$or", [])
for branch in mbranches:
    issuer = branch.get("userIdentity", {}).get("sessionContext", {}).get("sessionIssuer", {}).get("arn")
    if issuer == [{"anything-but": [{"Fn::GetAtt": ["MemberRole", "Arn"]}]}] or issuer == [{"exists": False}]:
        continue
    if branch.get("eventName") == ["TagRole"] and branch.get("requestParameters") == {"roleName": [{"Ref": "CanaryRole"}]}:
        continue
    fail(f"a branch of the forwarding rule may let the member role's own calls through, or miss callers: {branch}")
mpattern = mres["IamForwardingRule"]["Properties"]["EventPattern"]
if (mpattern["source"], mpattern["detail-type"], mpattern["detail"]["eventSource"]) != (iam_pattern["source"], iam_pattern["detail-type"], iam_pattern["detail"]["eventSource"]):
    fail("the forwarding rule does not match the IAM calls the stand-alone rule matches")
for kind in ("DenyPolicy", "QuarantinePolicy"):
    a, b = mres[kind]["Properties"], resources[kind]["Properties"]
    if (a["ManagedPolicyName"], a["Path"], a["PolicyDocument"]) != (b["ManagedPolicyName"], b["Path"], b["PolicyDocument"]):
        fail(f"member.yaml's {kind} is not the stack's (same path, name and document in every account)")
bus_policy = resources["CentralBusPolicy"]["Properties"]["Statement"]
if bus_policy.get("Condition") != {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}:
    fail("the central bus admits more than the organization")
sources = resources["CentralEventsRule"]["Properties"]["EventPattern"]["source"]
if any(not s.startswith("aws.") for s in sources):
    fail(f"the central rule takes events of sources a caller may put ({sources}): only AWS's own")
if resources["CentralEventsRule"]["Properties"]["Targets"][0]["Arn"] != {"Fn::GetAtt": ["EventsQueue", "Arn"]}:
    fail("the central rule does not feed the revoker's queue")
for fn, statements in (("Revoker", revoker_statements), ("Pruner", pruner_statements)):
    assume = [st for st in statements if "sts:AssumeRole" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])]
    if len(assume) != 1 or assume[0]["Resource"] != {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"}:
        fail(f"{fn}Role may assume more than the member roles")
if revoker_env.get("MEMBER_ROLE_NAME") != {"Ref": "MemberRoleName"}:
    fail("the revoker's MEMBER_ROLE_NAME is not the MemberRoleName parameter")

# The revoker's metrics (crates/warden-core/src/metrics.rs, canary.rs): the lag alarm and
# the dashboard watch metrics the code emits; the handler's last delivery is the queues'.
emitted = set(re.findall(r'"(\w+)"', (ROOT / "crates/warden-core/src/metrics.rs").read_text()))
emitted |= {"CanaryArrived", "CanaryDelaySeconds"}
lag = resources["LagAlarm"]["Properties"]
if (lag["Namespace"], lag["MetricName"]) != ("iam-warden", "LagSeconds") or "LagSeconds" not in emitted:
    fail("the lag alarm does not watch the revoker's LagSeconds")
if lag.get("Threshold") != {"Ref": "LagAlarmSeconds"}:
    fail("the lag alarm's threshold is not the LagAlarmSeconds parameter")
dashboard = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"][0]
for name in re.findall(r'\["iam-warden", "(\w+)"', dashboard) + re.findall(r'\[".", "(\w+)"', dashboard):
    if name not in emitted and not name.startswith("Approximate"):
        fail(f"the dashboard shows iam-warden/{name}, which the code does not emit")
handler = (ROOT / "functions/revoker/src/handler.rs").read_text()
receives = int(re.search(r"pub const MAX_RECEIVES: u32 = (\d+);", handler).group(1))
for queue in ("EventsQueue", "DeferralQueue"):
    if resources[queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"] != receives:
        fail(f"{queue}'s maxReceiveCount is not the handler's MAX_RECEIVES ({receives}): a last delivery would be redriven without its reason")
timeout = resources["RevokerFunction"]["Properties"].get("Timeout")
reliability = (ROOT / "tests/src/reliability.rs").read_text()
if f"Duration::from_secs({timeout})" not in reliability.split("LAMBDA_TIMEOUT: Duration = ", 1)[1].split(";", 1)[0]:
    fail(f"the reliability scenario's LAMBDA_TIMEOUT is not the revoker's Timeout ({timeout})")

if failures:
    print("template.yaml does not match the code:", file=sys.stderr)
    for f in failures:
        print(f"  - {f}", file=sys.stderr)
    sys.exit(1)
summary = ", ".join(f"{fn.lower()} {v} variables and {c} operations" for fn, (v, c) in counts.items())
print(f"template.yaml matches the code: {summary}, {len(template['Parameters'])} parameters")
