//! IAM Identity Center sessions (issue 19). Their roles (`AWSReservedSSO_<set>_<suffix>`
//! at `/aws-reserved/sso.amazonaws.com/`) cannot be changed through IAM: the tool never
//! tries. The sessions of the permission sets in ADMIN_PERMISSION_SETS are exempt once
//! their role is recorded in the trust ledger (by its unique id, on first sight: only
//! Identity Center can make a role at that path). Any other Identity Center session that
//! writes IAM is alerted, what it made is contained, and the notice gives the remedy AWS
//! documents ("Revoke active IAM role sessions created by permission sets"): a Deny in an
//! SCP or in the permission set's inline policy, on the user's Identity Store id
//! (`identitystore:userId`) where the record carries it, else on `aws:userid`.

use serde_json::json;

use crate::event::CloudTrailRecord;

/// The permission set a role of Identity Center belongs to: `AdminAccess` for
/// `AWSReservedSSO_AdminAccess_0123456789abcdef` (a name may hold `_`; the suffix never).
pub fn permission_set(role_name: &str) -> Option<&str> {
    let rest = role_name.strip_prefix("AWSReservedSSO_")?;
    let (set, suffix) = rest.rsplit_once('_')?;
    (!set.is_empty() && !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(set)
}

/// Whether a permission set's name is one ADMIN_PERMISSION_SETS may hold (as Identity
/// Center allows them: 1 to 32 of `[\w+=,.@-]`).
pub fn is_permission_set_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// Who the session is, for people: its session name (the user's name in Identity
/// Center) and, where CloudTrail carries it, the Identity Store user id.
pub fn user_of(record: &CloudTrailRecord) -> (Option<String>, Option<String>) {
    let identity = record.user_identity.as_ref();
    let session = identity
        .and_then(|u| u.arn.as_deref())
        .and_then(|arn| arn.rsplit('/').next())
        .map(str::to_owned);
    let store_id = identity
        .and_then(|u| u.on_behalf_of.as_ref())
        .and_then(|o| o.user_id.clone());
    (session, store_id)
}

/// The Deny that stops the user's sessions, as AWS documents it: on its Identity Store
/// id when known (it survives a change of user name or e-mail), else on `aws:userid`
/// `*:<session name>`.
pub fn deny_statement(session: Option<&str>, store_id: Option<&str>) -> Option<serde_json::Value> {
    let condition = match (store_id, session) {
        (Some(id), _) => json!({"StringEquals": {"identitystore:userId": id}}),
        (None, Some(name)) => json!({"StringLike": {"aws:userid": format!("*:{name}")}}),
        (None, None) => return None,
    };
    Some(json!({
        "Sid": "IamWardenDenyIdentityCenterUser",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": condition,
    }))
}

/// The user, for people: its session name and, where known, its Identity Store id.
fn who(session: Option<&str>, store_id: Option<&str>) -> String {
    match (session, store_id) {
        (Some(s), Some(id)) => format!("the Identity Center user `{s}` (Identity Store id `{id}`)"),
        (Some(s), None) => format!("the Identity Center user `{s}`"),
        (None, _) => "an Identity Center user".to_owned(),
    }
}

/// What the notice says when the tool applies the remedy itself (SESSION_SCP=on): the
/// user is denied IAM by the tool's SCP on the account, and how that is lifted.
pub fn applied(record: &CloudTrailRecord, role_name: &str) -> String {
    let (session, store_id) = user_of(record);
    let who = who(session.as_deref(), store_id.as_deref());
    let set = permission_set(role_name).unwrap_or("?");
    format!(
        "{who} of the permission set `{set}`: Identity Center roles cannot be changed through IAM, so iam-warden denies this user IAM by its SCP on the account (SESSION_SCP=on); lifted by `warden restore --role {role_name} --session {}`",
        session.as_deref().unwrap_or("<user name>")
    )
}

/// The remedy for the notice: the exact statement, and the commands that put it in
/// place (an SCP from the management account, or the permission set's inline policy).
pub fn remedy(record: &CloudTrailRecord, role_name: &str) -> String {
    let (session, store_id) = user_of(record);
    let who = who(session.as_deref(), store_id.as_deref());
    let Some(statement) = deny_statement(session.as_deref(), store_id.as_deref()) else {
        return format!("{who}: the record does not name the user; find it in Identity Center's sign-in records");
    };
    let set = permission_set(role_name).unwrap_or("?");
    format!(
        "{who} of the permission set `{set}`: Identity Center roles cannot be changed through IAM. To stop this user's sessions now, add this statement to an SCP on the account (or to the permission set's inline policy): {statement}. E.g. `aws organizations create-policy --type SERVICE_CONTROL_POLICY --name iam-warden-deny-user --content '{{\"Version\":\"2012-10-17\",\"Statement\":[{statement}]}}'` then `aws organizations attach-policy --policy-id <id> --target-id <account>`; or `aws sso-admin put-inline-policy-to-permission-set` and `aws sso-admin provision-permission-set` for `{set}`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permission_set_is_the_role_name_between_prefix_and_suffix() {
        assert_eq!(
            permission_set("AWSReservedSSO_AdminAccess_0123456789abcdef"),
            Some("AdminAccess")
        );
        assert_eq!(
            permission_set("AWSReservedSSO_Power_User_Access_ab12"),
            Some("Power_User_Access")
        );
        for bad in [
            "AWSReservedSSO_",
            "AWSReservedSSO_x",
            "Other_A_b",
            "AWSReservedSSO__ab",
            "AWSReservedSSO_A_",
        ] {
            assert_eq!(permission_set(bad), None, "{bad}");
        }
        assert!(is_permission_set_name("AdministratorAccess"));
        assert!(!is_permission_set_name(""));
        assert!(!is_permission_set_name("has space"));
        assert!(!is_permission_set_name(&"x".repeat(33)));
    }

    fn record(on_behalf: Option<&str>) -> CloudTrailRecord {
        serde_json::from_value(json!({
            "userIdentity": {"type": "AssumedRole",
                "arn": "arn:aws:sts::1:assumed-role/AWSReservedSSO_Dev_ab12/jane@example.com",
                "onBehalfOf": on_behalf.map(|id| json!({"userId": id, "identityStoreArn": "arn:aws:identitystore::1:identitystore/d-1"}))}
        }))
        .unwrap()
    }

    #[test]
    fn the_remedy_denies_the_user_by_its_store_id_else_by_its_session_name() {
        let (session, id) = user_of(&record(Some("9067-abcd")));
        assert_eq!(session.as_deref(), Some("jane@example.com"));
        let st = deny_statement(session.as_deref(), id.as_deref()).unwrap();
        assert_eq!(
            st["Condition"]["StringEquals"]["identitystore:userId"],
            "9067-abcd"
        );
        assert_eq!(
            (&st["Effect"], &st["Action"]),
            (&json!("Deny"), &json!("*"))
        );
        let (session, id) = user_of(&record(None));
        let st = deny_statement(session.as_deref(), id.as_deref()).unwrap();
        assert_eq!(
            st["Condition"]["StringLike"]["aws:userid"],
            "*:jane@example.com"
        );
        assert!(deny_statement(None, None).is_none());
        let text = remedy(&record(Some("9067-abcd")), "AWSReservedSSO_Dev_ab12");
        assert!(
            text.contains("identitystore:userId") && text.contains("`Dev`"),
            "{text}"
        );
    }
}
