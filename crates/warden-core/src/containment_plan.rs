//! The containment plan, call by call: a pure function of the event, what IAM says
//! about the artifact's owner ([`Known`]) and the configuration. Artifacts are named by
//! the exact identifiers the event carries (`requestParameters`, `responseElements`),
//! never by "everything of that user". Principals and credentials the caller created are
//! always contained; a grant to an existing trusted admin, exempt principal, the admin
//! group or one of the tool's own roles is reported with the command to undo it by hand,
//! never undone (the event cannot show whether the grant was there before). Every action
//! is an [`Action`] with its undo.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::action::{Action, Credential, Holder};
use crate::config::Config;
use crate::containment::{
    canary_trust_policy, is_quarantine_document, is_tool_inline, is_tool_policy, quarantine,
    revoke_sessions, revoke_sessions_but, tool_trust_policy, Contained, Created, Guard, Known,
    Manual, Need, Plan, PolicyVersion,
};
use crate::event::CloudTrailRecord;
use crate::principal::{same_name, EntityKind, Principal};

/// A version made this little before the call may be the caller's own, staged: never
/// taken for the previous default.
pub const STAGED_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(1);

impl Plan {
    fn with(what: String) -> Self {
        Self {
            what,
            ..Self::default()
        }
    }

    fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    fn act(mut self, actions: Vec<Action>) -> Self {
        self.actions = actions;
        self
    }

    fn manual(mut self, what: String, command: String) -> Self {
        self.manual.push(Manual { what, command });
        self
    }
}

/// The grant or creation an event is about, for [`Need`]: what the service must find
/// out before [`plan`] can decide.
pub fn need(record: &CloudTrailRecord, config: &Config) -> Option<Need> {
    if record.is_failed() || !record.is_iam_api_call() {
        return None;
    }
    let name = record.event_name.as_deref()?;
    let param = |k: &str| record.request_param(k).map(str::to_owned);
    match name {
        "AddUserToGroup"
            if param("groupName").is_some_and(|g| same_name(&g, &config.admin_group)) =>
        {
            None
        }
        "AttachUserPolicy" | "PutUserPolicy" | "AddUserToGroup" => {
            param("userName").map(|n| Need::Guard(Holder::User, n))
        }
        "AttachRolePolicy"
        | "PutRolePolicy"
        | "UpdateAssumeRolePolicy"
        | "PutRolePermissionsBoundary" => param("roleName").map(|n| Need::Guard(Holder::Role, n)),
        "AttachGroupPolicy" | "PutGroupPolicy" => {
            param("groupName").map(|n| Need::Guard(Holder::Group, n))
        }
        "CreatePolicyVersion" if set_as_default(record) => param("policyArn").map(Need::Versions),
        _ => None,
    }
}

/// The containment of one successful IAM call of a caller iam-warden does not allow.
pub fn plan(record: &CloudTrailRecord, known: &Known, config: &Config, now: DateTime<Utc>) -> Plan {
    let event_name = record.event_name.as_deref().unwrap_or("?");
    let what = describe(record);
    let out = Plan::with(what.clone());
    if !record.is_iam_api_call() {
        return out.note("not an IAM call: nothing to contain");
    }
    if let Some(code) = record.error_code.as_deref().filter(|c| !c.is_empty()) {
        return out.note(format!("the call failed ({code}): it changed nothing"));
    }
    let param = |k: &str| record.request_param(k).map(str::to_owned);
    let missing = |field: &str| {
        let mut plan = Plan::with(what.clone()).note(format!(
            "the event does not carry {field}: nothing contained from it (review {what} by hand)"
        ));
        plan.review = true;
        plan
    };
    // Guarded principals are reported, not undone; the tool's own roles, which change
    // only with the stack, are put back (attack 13).
    let guarded = |plan: Plan, holder: Holder, name: &str, command: String| match &known.guard {
        Some(Guard::Tool) | None => plan,
        Some(g) => plan.manual(
            format!(
                "{what}: {}/{name} is {}, so it is not undone",
                holder.as_str(),
                g.as_str()
            ),
            command,
        ),
    };
    match event_name {
        // A principal the caller created did not exist before its call (IAM refuses a
        // name in use): it is never a trusted or exempt one, whatever its name.
        "CreateUser" => {
            let Some(user) = created(record, "user", "userName") else {
                return missing("the user's name");
            };
            let id = response(record, &["user", "userId"]);
            let mut plan = out.act(vec![quarantine(Holder::User, &user, config)]);
            plan.created = id.map(|id| Created {
                kind: EntityKind::User,
                name: user,
                id,
            });
            plan
        }
        "CreateRole" => {
            let Some(role) = created(record, "role", "roleName") else {
                return missing("the role's name");
            };
            out.act(vec![
                quarantine(Holder::Role, &role, config),
                revoke_sessions(&role, now),
            ])
        }
        "UpdateAssumeRolePolicy" => {
            let Some(role) = param("roleName") else {
                return missing("`roleName`");
            };
            // One of the tool's own roles trusts Lambda alone (the canary: nobody), the
            // stack's trust: an opened trust would give its power to whoever it names,
            // unseen (the rules leave the tool's own calls out). Put back, reversibly,
            // and the sessions that are not the functions' own revoked (attack 13).
            if known.guard == Some(Guard::Tool) {
                let (Some(opened), Some(account)) = (
                    param("policyDocument").map(|d| decoded(&d)),
                    record.recipient_account_id.as_deref(),
                ) else {
                    return missing("`policyDocument`");
                };
                let canary = config
                    .canary_role
                    .as_deref()
                    .is_some_and(|c| same_name(c, &role));
                let functions: Vec<String> = config
                    .tool
                    .functions
                    .iter()
                    .map(|f| format!("arn:aws:lambda:us-east-1:{account}:function:{f}"))
                    .collect();
                let (document, sessions) = match (canary, functions.is_empty()) {
                    (true, _) => (
                        canary_trust_policy(account),
                        Some(revoke_sessions(&role, now)),
                    ),
                    // Without the functions' names their sessions cannot be told apart:
                    // none is revoked (a function would lose its own).
                    (false, true) => (tool_trust_policy(account), None),
                    (false, false) => (
                        tool_trust_policy(account),
                        Some(revoke_sessions_but(&role, now, &functions)),
                    ),
                };
                let mut actions = vec![Action::SetTrustPolicy {
                    role,
                    document,
                    replacing: opened,
                }];
                actions.extend(sessions);
                return out.act(actions);
            }
            // A guarded role's trust is reported with the document it replaced, when
            // CloudTrail has it (its newest earlier trust change, or its creation).
            let command = match &known.previous_trust {
                Some((document, _)) => format!(
                    "aws iam update-assume-role-policy --role-name {role} --policy-document '{document}'"
                ),
                None => format!("aws iam get-role --role-name {role}  # review its trust policy, then aws iam update-assume-role-policy"),
            };
            guarded(out, Holder::Role, &role, command)
            .act_unless_guarded(
                known,
                vec![
                    quarantine(Holder::Role, &role, config),
                    revoke_sessions(&role, now),
                ],
            )
            .note("the trust policy before the call is not in the event: the role is quarantined and its sessions revoked, its trust policy left as the caller made it")
        }
        // A boundary on one of the tool's roles (the stack sets none) stops a function
        // from acting or publishing: removed, reversibly. On anyone else's role it only
        // limits it: reviewed.
        "PutRolePermissionsBoundary" => {
            let (Some(role), Some(boundary)) = (param("roleName"), param("permissionsBoundary"))
            else {
                return missing("`roleName` and `permissionsBoundary`");
            };
            if known.guard != Some(Guard::Tool) {
                let mut plan = out.note("a boundary only limits the role: review it");
                plan.review = true;
                return plan;
            }
            out.act(vec![Action::SetBoundary {
                holder: Holder::Role,
                name: role,
                boundary: None,
                replacing: Some(boundary),
            }])
        }
        "CreateAccessKey" => {
            let key = response(record, &["accessKey", "accessKeyId"]);
            let user = response(record, &["accessKey", "userName"])
                .or_else(|| param("userName"))
                .or_else(|| caller_user(record));
            match (key, user) {
                (Some(id), Some(user)) => out.act(vec![Action::SetCredential {
                    user,
                    credential: Credential::AccessKey(id),
                    active: false,
                }]),
                _ => missing("the access key id and its user"),
            }
        }
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            let user = param("userName")
                .or_else(|| response(record, &["loginProfile", "userName"]))
                .or_else(|| caller_user(record));
            match user {
                Some(user) => out.act(vec![Action::DeleteLoginProfile { user }]),
                None => missing("the user's name"),
            }
        }
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => {
            let (holder, key) = holder_of(event_name);
            let (Some(name), Some(policy_arn)) = (param(key), param("policyArn")) else {
                return missing(&format!("`{key}` and `policyArn`"));
            };
            if is_tool_policy(&policy_arn, config) {
                // iam-warden never denies a trusted admin, an exempt principal, the admin
                // group or itself: on them, its policy is the caller's doing (a lock-out).
                if known.guard.is_none() {
                    return out.note(format!(
                        "{policy_arn} is iam-warden's own policy, on a principal it may deny: left attached"
                    ));
                }
                return out.act(vec![Action::DetachPolicy {
                    holder,
                    name,
                    policy_arn,
                }]);
            }
            // The same grant made earlier by someone else, not taken away since: the call
            // changed nothing, and undoing it would take away what the principal had.
            if let (Some((by, event_id)), None) = (&known.earlier, &known.guard) {
                return out.note(format!(
                    "{policy_arn} was already attached to {}/{name} by {by} (event `{event_id}`) and not detached since: a no-op grant, left attached",
                    holder.as_str()
                ));
            }
            let command = format!(
                "aws iam detach-{}-policy --{}-name {name} --policy-arn {policy_arn}",
                holder.as_str(),
                holder.as_str()
            );
            guarded(out, holder, &name, command).act_unless_guarded(
                known,
                vec![Action::DetachPolicy {
                    holder,
                    name,
                    policy_arn,
                }],
            )
        }
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => {
            let (holder, key) = holder_of(event_name);
            let (Some(name), Some(policy_name)) = (param(key), param("policyName")) else {
                return missing(&format!("`{key}` and `policyName`"));
            };
            let command = format!(
                "aws iam delete-{}-policy --{}-name {name} --policy-name {policy_name}",
                holder.as_str(),
                holder.as_str()
            );
            let document = param("policyDocument").map(|d| decoded(&d));
            if is_tool_inline(&policy_name, config)
                && document.as_deref().is_some_and(is_tool_document)
            {
                return out.note(format!(
                    "`{policy_name}` is one of iam-warden's own inline policies, with its document: left"
                ));
            }
            // Under one of the tool's names with another document, it is the caller's:
            // contained like any other.
            let Some(document) = document else {
                // Deleting it without its document would be irreversible.
                return out.manual(
                    format!("{what}: the event does not carry the document, so it is not deleted"),
                    command,
                );
            };
            let delete = vec![Action::DeleteInlinePolicy {
                holder,
                name: name.clone(),
                policy_name: policy_name.clone(),
                document,
            }];
            if is_tool_inline(&policy_name, config) {
                // An imitation of the tool's own: on a principal iam-warden never stops,
                // it would make the tool take it for stopped (a lock-out), so it is
                // deleted whatever the guard.
                return out.act(delete);
            }
            guarded(out, holder, &name, command).act_unless_guarded(known, delete)
        }
        "AddUserToGroup" => {
            let (Some(group), Some(user)) = (param("groupName"), param("userName")) else {
                return missing("`groupName` and `userName`");
            };
            if same_name(&group, &config.admin_group) {
                return out.note(
                    "membership of the admin group is an escalation: the trust ledger undoes it",
                );
            }
            let command =
                format!("aws iam remove-user-from-group --group-name {group} --user-name {user}");
            guarded(out, Holder::User, &user, command)
                .act_unless_guarded(known, vec![Action::RemoveFromGroup { group, user }])
        }
        "CreatePolicyVersion" | "SetDefaultPolicyVersion" => {
            let Some(policy_arn) = param("policyArn") else {
                return missing("`policyArn`");
            };
            if is_tool_policy(&policy_arn, config) {
                return out.note(format!(
                    "{policy_arn} is iam-warden's own policy: it is verified and repaired as tampering"
                ));
            }
            let new = if event_name == "CreatePolicyVersion" {
                if !set_as_default(record) {
                    return out.note(
                        "a version not made the default changes no permission: nothing to contain",
                    );
                }
                response(record, &["policyVersion", "versionId"])
            } else {
                param("versionId")
            };
            let command = |previous: &str| {
                format!(
                    "aws iam set-default-policy-version --policy-arn {policy_arn} --version-id {previous}"
                )
            };
            let Some(new) = new else {
                return missing("the version id");
            };
            let called = record
                .event_time
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc));
            match previous_default(event_name, &new, known.versions.as_deref(), called) {
                Ok(previous) => out.act(vec![Action::SetDefaultVersion {
                    policy_arn,
                    version: previous,
                    replacing: new,
                }]),
                Err(why) => {
                    let others: Vec<&str> = known
                        .versions
                        .iter()
                        .flatten()
                        .filter(|v| v.id != new)
                        .map(|v| v.id.as_str())
                        .collect();
                    let choice = if others.is_empty() {
                        "<a version>".to_owned()
                    } else {
                        others.join("|")
                    };
                    out.manual(
                        format!("{what}: {why}, so the default is not changed on a guess (aws iam list-policy-versions --policy-arn {policy_arn})"),
                        command(&choice),
                    )
                }
            }
        }
        "CreateServiceSpecificCredential" | "UploadSSHPublicKey" | "UploadSigningCertificate" => {
            let (object, id_key, make): (&str, &str, fn(String) -> Credential) = match event_name {
                "CreateServiceSpecificCredential" => (
                    "serviceSpecificCredential",
                    "serviceSpecificCredentialId",
                    Credential::ServiceSpecific,
                ),
                "UploadSSHPublicKey" => {
                    ("sSHPublicKey", "sSHPublicKeyId", Credential::SshPublicKey)
                }
                _ => (
                    "certificate",
                    "certificateId",
                    Credential::SigningCertificate,
                ),
            };
            let id = response(record, &[object, id_key]);
            let user = response(record, &[object, "userName"])
                .or_else(|| param("userName"))
                .or_else(|| caller_user(record));
            match (id, user) {
                (Some(id), Some(user)) => out.act(vec![Action::SetCredential {
                    user,
                    credential: make(id),
                    active: false,
                }]),
                _ => missing("the credential's id and user"),
            }
        }
        // A credential made active again (or a service password reset) is the caller's
        // to use: made inactive.
        "UpdateAccessKey"
        | "UpdateSSHPublicKey"
        | "UpdateSigningCertificate"
        | "UpdateServiceSpecificCredential"
        | "ResetServiceSpecificCredential" => {
            let (id_key, make): (&str, fn(String) -> Credential) = match event_name {
                "UpdateAccessKey" => ("accessKeyId", Credential::AccessKey),
                "UpdateSSHPublicKey" => ("sSHPublicKeyId", Credential::SshPublicKey),
                "UpdateSigningCertificate" => ("certificateId", Credential::SigningCertificate),
                _ => ("serviceSpecificCredentialId", Credential::ServiceSpecific),
            };
            let reset = event_name == "ResetServiceSpecificCredential";
            if !reset && param("status").as_deref() != Some("Active") {
                return out.note("a credential made inactive: nothing to contain");
            }
            let user = param("userName")
                .or_else(|| response(record, &["serviceSpecificCredential", "userName"]))
                .or_else(|| caller_user(record));
            match (param(id_key), user) {
                (Some(id), Some(user)) => out.act(vec![Action::SetCredential {
                    user,
                    credential: make(id),
                    active: false,
                }]),
                _ => missing(&format!("`{id_key}` and the user")),
            }
        }
        // A rename moves the user (or group) away from the names the caller's other
        // events carry, so that their containment finds nothing: renamed back.
        "UpdateUser" | "UpdateGroup" => {
            let (holder, key, new_key) = if event_name == "UpdateUser" {
                (Holder::User, "userName", "newUserName")
            } else {
                (Holder::Group, "groupName", "newGroupName")
            };
            match (param(key), param(new_key)) {
                (Some(old), _)
                    if holder == Holder::User
                        && caller_user(record).is_some_and(|c| same_name(&c, &old)) =>
                {
                    out.note("the caller renamed itself: its revocation follows its unique id")
                }
                (Some(old), Some(new))
                    if holder == Holder::Group
                        && same_name(&old, &config.admin_group) != same_name(&new, &config.admin_group) =>
                {
                    out.note("a rename to or from the admin group's name is put back by the admin group's unique id, not by name")
                }
                (Some(old), Some(new)) if old != new => out.act(vec![Action::Rename {
                    holder,
                    from: new,
                    to: old,
                }]),
                (Some(_), _) => out.note("no new name: nothing to contain"),
                _ => missing(&format!("`{key}`")),
            }
        }
        "EnableMFADevice" => {
            let (Some(user), Some(serial)) = (param("userName"), param("serialNumber")) else {
                return missing("`userName` and `serialNumber`");
            };
            if caller_user(record).is_some_and(|c| same_name(&c, &user)) {
                return out.note("an MFA device on the caller's own user: nothing to contain");
            }
            out.act(vec![Action::SetCredential {
                user,
                credential: Credential::MfaDevice(serial),
                active: false,
            }])
        }
        name if ["Delete", "Remove", "Detach", "Deactivate"]
            .iter()
            .any(|verb| name.starts_with(verb)) =>
        {
            let mut plan =
                out.note("destructive: nothing to undo from the event (review what it removed)");
            plan.review = true;
            plan
        }
        _ => {
            let mut plan = out.note("not a call iam-warden contains: review it");
            plan.review = true;
            plan
        }
    }
}

impl Plan {
    /// The actions, unless the principal is guarded (then only reported); on one of the
    /// tool's own roles, the actions.
    fn act_unless_guarded(self, known: &Known, actions: Vec<Action>) -> Self {
        match known.guard {
            Some(Guard::Tool) | None => self.act(actions),
            Some(_) => self,
        }
    }
}

/// What is said of a call whose containment failed for good (the ledger refusing its
/// record, say): nothing was done, the call is to be reviewed by hand. It never holds
/// up the revocation's notice: it is said in it.
pub fn failed(record: &CloudTrailRecord, event_id: String, error: &str) -> Contained {
    Contained {
        by: crate::grant::actor(record),
        event_id,
        plan: Plan {
            what: describe(record),
            note: Some(format!(
                "containment failed for good ({error}): review the call by hand"
            )),
            review: true,
            ..Plan::default()
        },
        states: Vec::new(),
        planned_only: false,
        notified: false,
    }
}

/// What a call did, for people: its name and the identifiers it names.
pub fn describe(record: &CloudTrailRecord) -> String {
    const KEYS: [&str; 9] = [
        "userName",
        "roleName",
        "groupName",
        "policyArn",
        "policyName",
        "versionId",
        "serialNumber",
        "instanceProfileName",
        "serviceName",
    ];
    let mut out = format!("iam:{}", record.event_name.as_deref().unwrap_or("?"));
    for key in KEYS {
        if let Some(v) = record.request_param(key) {
            out.push_str(&format!(" {key}={v}"));
        }
    }
    out
}

/// The name of the principal a Create call made: from the response, else the request.
fn created(record: &CloudTrailRecord, object: &str, key: &str) -> Option<String> {
    response(record, &[object, key]).or_else(|| record.request_param(key).map(str::to_owned))
}

/// A string inside `responseElements`.
fn response(record: &CloudTrailRecord, path: &[&str]) -> Option<String> {
    let mut value: &Value = record.response_elements.as_ref()?;
    for key in path {
        value = value.get(key)?;
    }
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The caller's own IAM user (a self-service call names no user).
fn caller_user(record: &CloudTrailRecord) -> Option<String> {
    match Principal::classify(record) {
        Principal::IamUser(u) => Some(u.name),
        _ => None,
    }
}

fn set_as_default(record: &CloudTrailRecord) -> bool {
    match record
        .request_parameters
        .as_ref()
        .and_then(|p| p.get("setAsDefault"))
    {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

pub(crate) fn holder_of(event_name: &str) -> (Holder, &'static str) {
    if event_name.contains("Role") {
        (Holder::Role, "roleName")
    } else if event_name.contains("Group") {
        (Holder::Group, "groupName")
    } else {
        (Holder::User, "userName")
    }
}

/// A document iam-warden itself writes inline: the deny, the quarantine, a session
/// revocation (compared as JSON: whitespace and key order do not matter).
fn is_tool_document(document: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return false;
    };
    let same = |text: &str| serde_json::from_str::<Value>(text).is_ok_and(|v| v == doc);
    if is_quarantine_document(document) || same(crate::DENY_ALL_IAM_POLICY) {
        return true;
    }
    let time = doc
        .pointer("/Statement/0/Condition/DateLessThan/aws:TokenIssueTime")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match (time, &revoke_sessions("", Utc::now())) {
        (Some(t), Action::PutInlinePolicy { document: own, .. }) => serde_json::from_str::<Value>(
            &own.replace(
                &Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
                &t.with_timezone(&Utc)
                    .to_rfc3339_opts(SecondsFormat::Secs, true),
            ),
        )
        .is_ok_and(|v| v == doc),
        _ => false,
    }
}

/// A policy document as the event has it: URL-encoded in some responses (and, by some
/// clients, in requests), plain JSON otherwise.
pub fn decoded(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_owned();
    }
    percent_encoding::percent_decode_str(document)
        .decode_utf8()
        .map(|d| d.into_owned())
        .unwrap_or_else(|_| document.to_owned())
}

/// Which version was the default before the call, when IAM's list establishes it: the
/// event's version must still be the default, and it must have been new (a
/// CreatePolicyVersion) with exactly one other version. A SetDefaultPolicyVersion
/// never establishes it (the event's version may have been the default already).
fn previous_default(
    event_name: &str,
    new: &str,
    versions: Option<&[PolicyVersion]>,
    called: Option<DateTime<Utc>>,
) -> Result<String, String> {
    let Some(versions) = versions else {
        return Err("the policy's versions could not be read".into());
    };
    match versions.iter().find(|v| v.is_default) {
        Some(d) if d.id == new => {}
        Some(d) => {
            return Err(format!(
                "the default is now {}, not the event's {new}: changed since",
                d.id
            ))
        }
        None => return Err("IAM shows no default version".into()),
    }
    if event_name != "CreatePolicyVersion" {
        return Err("the event does not say which version was the default before".into());
    }
    let others: Vec<&PolicyVersion> = versions.iter().filter(|v| v.id != new).collect();
    match others.as_slice() {
        // Made well before the call: not one the caller staged (a version deleted since
        // could have been the default; a staged one never is taken for it).
        [only] => match (only.created, called) {
            (Some(made), Some(called)) if made + STAGED_WINDOW <= called => Ok(only.id.clone()),
            _ => Err(format!(
                "{} was made shortly before the call (or when is unknown): it may be the caller's",
                only.id
            )),
        },
        [] => Err("the policy has no other version".into()),
        _ => Err(format!(
            "the policy has {} other versions and the event does not say which was the default",
            others.len()
        )),
    }
}
