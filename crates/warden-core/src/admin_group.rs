//! The admin group known by its unique id (issue 18, attack 6). One `UpdateGroup` renamed
//! it away: a cold revoker refused to start, and a warm one took every admin's trust away
//! ("the admin group is gone"); two groups' names swapped made another group's members
//! the admins. The group with the id the trust ledger recorded first is the admin group,
//! whatever it is named; a rename that moves ADMIN_GROUP_NAME off it is tampering, put
//! back by id, and changes no trust.
//!
//! Pure: the revoker reads which group holds the name and what the recorded one is named
//! now, and asks [`repair`].

use crate::action::{Action, Holder};
use crate::event::CloudTrailRecord;
use crate::principal::same_name;

/// What puts ADMIN_GROUP_NAME back on the group with the recorded id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// The recorded group holds the name.
    Intact,
    /// Renames, in order: the group that took the name (if any) is moved aside, then the
    /// recorded group gets its name back. With what happened, for the notice.
    Rename(Vec<Action>, String),
    /// The recorded group no longer exists (deleted): nothing to put back.
    Lost(String),
}

/// The repair, given the recorded id, the id of the group named `admin` now (`None`: no
/// group has the name) and the current name of the recorded group (`None`: it is gone).
pub fn repair(admin: &str, recorded: &str, holder: Option<&str>, current: Option<&str>) -> Repair {
    if holder == Some(recorded) {
        return Repair::Intact;
    }
    let Some(current) = current else {
        return Repair::Lost(format!(
            "the admin group `{admin}` (unique id {recorded}, as the trust ledger recorded it) no longer exists{}: nobody is an admin by membership until an operator sets ADMIN_GROUP_NAME to a group and vouches for its members (`warden trust`)",
            holder.map_or_else(String::new, |h| format!(
                "; the group named `{admin}` now (unique id {h}) is another"
            ))
        ));
    };
    let mut actions = Vec::new();
    let mut what = format!(
        "the admin group (unique id {recorded}) was named `{current}`: renamed back to `{admin}`"
    );
    if let Some(other) = holder {
        let aside = displaced_name(admin, other);
        what.push_str(&format!(
            "; the group that took the name (unique id {other}) is now `{aside}`: it is not the admin group, and its members are not admins"
        ));
        actions.push(Action::Rename {
            holder: Holder::Group,
            from: admin.to_owned(),
            to: aside,
        });
    }
    actions.push(Action::Rename {
        holder: Holder::Group,
        from: current.to_owned(),
        to: admin.to_owned(),
    });
    Repair::Rename(actions, what)
}

/// The name a group that took ADMIN_GROUP_NAME is moved aside to: the name and the
/// start of its id (IAM names allow `-`; 128 characters at most).
pub fn displaced_name(admin: &str, id: &str) -> String {
    let short: String = id.chars().take(8).collect();
    let name = format!("{admin}-displaced-{short}");
    name.chars().take(128).collect()
}

/// Whether `record` renames a group to or from ADMIN_GROUP_NAME (compared as IAM
/// compares names; a change of case only is no rename of the admin group): what the
/// revoker puts back by id, whoever made it.
pub fn renames_admin_group(record: &CloudTrailRecord, admin: &str) -> bool {
    if record.is_failed() || record.event_name.as_deref() != Some("UpdateGroup") {
        return false;
    }
    match (
        record.request_param("groupName"),
        record.request_param("newGroupName"),
    ) {
        (Some(old), Some(new)) => same_name(old, admin) != same_name(new, admin),
        _ => false,
    }
}

/// The name the admin group has now if `records` (CloudTrail's recent UpdateGroup
/// calls, any order) renamed it away from ADMIN_GROUP_NAME, following its later renames;
/// `None` when none did. Taken before the trust baseline of an account opened on its
/// first event: the group holding the name then may be a caller's, made after it moved
/// the real one aside.
pub fn renamed_away(records: &[CloudTrailRecord], admin: &str) -> Option<String> {
    let renames: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| !r.is_failed() && r.event_name.as_deref() == Some("UpdateGroup"))
        .filter_map(|r| {
            Some((
                r.request_param("groupName")?,
                r.request_param("newGroupName")?,
            ))
        })
        .filter(|(old, new)| !same_name(old, new))
        .collect();
    let mut name = admin;
    // Each rename is followed at most once: a cycle of renames ends.
    for _ in 0..renames.len() {
        match renames.iter().find(|(old, _)| same_name(old, name)) {
            Some((_, new)) => name = new,
            None => break,
        }
        if same_name(name, admin) {
            return None;
        }
    }
    (!same_name(name, admin)).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn update(old: &str, new: &str, failed: bool) -> CloudTrailRecord {
        serde_json::from_value(json!({
            "eventName": "UpdateGroup",
            "requestParameters": {"groupName": old, "newGroupName": new},
            "errorCode": if failed { json!("AccessDenied") } else { json!(null) },
        }))
        .unwrap()
    }

    #[test]
    fn the_admin_groups_name_now_is_followed_through_its_recent_renames() {
        let admin = "Administrators";
        assert_eq!(renamed_away(&[], admin), None);
        assert_eq!(
            renamed_away(&[update("administrators", "Old", false)], admin),
            Some("Old".into()),
            "as IAM compares names"
        );
        assert_eq!(
            renamed_away(
                &[update("Old", "Older", false), update(admin, "Old", false)],
                admin
            ),
            Some("Older".into()),
            "newest first, as CloudTrail lists them"
        );
        assert_eq!(
            renamed_away(&[update(admin, "Old", true)], admin),
            None,
            "a refused rename renamed nothing"
        );
        assert_eq!(
            renamed_away(
                &[update(admin, "Old", false), update("Old", admin, false)],
                admin
            ),
            None,
            "renamed back"
        );
        assert_eq!(
            renamed_away(&[update(admin, "ADMINISTRATORS", false)], admin),
            None,
            "a change of case is no rename"
        );
        assert_eq!(renamed_away(&[update("Other", "Old", false)], admin), None);
        let cycle = [
            update(admin, "A", false),
            update("A", "B", false),
            update("B", "A", false),
        ];
        assert!(
            matches!(renamed_away(&cycle, admin).as_deref(), Some("A" | "B")),
            "a cycle of renames ends"
        );
    }

    fn rename(from: &str, to: &str) -> Action {
        Action::Rename {
            holder: Holder::Group,
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn the_recorded_group_holding_the_name_needs_nothing() {
        assert_eq!(
            repair(
                "Administrators",
                "AGPA1",
                Some("AGPA1"),
                Some("Administrators")
            ),
            Repair::Intact
        );
    }

    #[test]
    fn a_renamed_admin_group_is_renamed_back() {
        let Repair::Rename(actions, what) = repair("Administrators", "AGPA1", None, Some("Old"))
        else {
            panic!("not a rename");
        };
        assert_eq!(actions, [rename("Old", "Administrators")]);
        assert!(
            what.contains("named `Old`: renamed back to `Administrators`"),
            "{what}"
        );
    }

    #[test]
    fn a_group_that_took_the_name_is_moved_aside_first() {
        let Repair::Rename(actions, what) =
            repair("Administrators", "AGPA1", Some("AGPA2XYZ0123"), Some("Ops"))
        else {
            panic!("not a rename");
        };
        assert_eq!(
            actions,
            [
                rename("Administrators", "Administrators-displaced-AGPA2XYZ"),
                rename("Ops", "Administrators"),
            ]
        );
        assert!(what.contains("unique id AGPA2XYZ0123"), "{what}");
        assert!(what.contains("its members are not admins"), "{what}");
    }

    #[test]
    fn a_deleted_admin_group_is_said_not_guessed() {
        let Repair::Lost(why) = repair("Administrators", "AGPA1", None, None) else {
            panic!("not lost");
        };
        assert!(why.contains("no longer exists:"), "{why}");
        let Repair::Lost(why) = repair("Administrators", "AGPA1", Some("AGPA9"), None) else {
            panic!("not lost");
        };
        assert!(why.contains("unique id AGPA9) is another"), "{why}");
    }

    #[test]
    fn a_displaced_name_is_a_valid_iam_name() {
        assert_eq!(displaced_name("Admins", "AG"), "Admins-displaced-AG");
        let long = "a".repeat(127);
        assert_eq!(displaced_name(&long, "AGPA1234").chars().count(), 128);
    }

    #[test]
    fn only_a_rename_to_or_from_the_admin_name_is_one() {
        let call = |old: &str, new: &str| -> CloudTrailRecord {
            serde_json::from_value(json!({"eventName": "UpdateGroup",
                "requestParameters": {"groupName": old, "newGroupName": new}}))
            .unwrap()
        };
        assert!(renames_admin_group(
            &call("Administrators", "Old"),
            "Administrators"
        ));
        assert!(renames_admin_group(
            &call("Ops", "administrators"),
            "Administrators"
        ));
        assert!(!renames_admin_group(
            &call("Administrators", "ADMINISTRATORS"),
            "Administrators"
        ));
        assert!(!renames_admin_group(&call("Ops", "Devs"), "Administrators"));
        let mut failed = call("Administrators", "Old");
        failed.error_code = Some("AccessDenied".into());
        assert!(!renames_admin_group(&failed, "Administrators"));
        let mut other = call("Administrators", "Old");
        other.event_name = Some("UpdateUser".into());
        assert!(!renames_admin_group(&other, "Administrators"));
        let no_new: CloudTrailRecord = serde_json::from_value(
            json!({"eventName": "UpdateGroup", "requestParameters": {"groupName": "Administrators"}}),
        )
        .unwrap();
        assert!(!renames_admin_group(&no_new, "Administrators"));
    }
}
