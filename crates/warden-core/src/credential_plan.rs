//! The credential plan (issue 21): which of a user's access keys have gone unused and are
//! deactivated (never deleted: `warden restore --key` puts one back), and whether its
//! console password has gone unused (reported; removed only with UNUSED_PASSWORDS=remove).
//! Pure: the facts are IAM's credential report (which users to look at, one CSV for the
//! account) and each nominated user's keys as IAM says they are now (ListAccessKeys,
//! GetAccessKeyLastUsed: the report may be 4 hours old, and a key used since is not
//! unused); the ledger remembers what the tool did and what an operator put back.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::credentials::{self, Used, UserRow};
use crate::prune_ledger::LedgerEntry;

/// The ledger's and the outcomes' name of a user's console password (key ids are
/// `AKIA…`/`ASIA…`, never this).
pub const PASSWORD: &str = "console-password";

/// What the pruner does with an access key gone unused (`UNUSED_KEYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysMode {
    /// Deactivated (UpdateAccessKey Inactive), recorded, reversible.
    Deactivate,
    /// Said in the digest only.
    Report,
}

/// What the pruner does with a console password gone unused (`UNUSED_PASSWORDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordsMode {
    /// Said in the digest only (a password cannot be deactivated, and deleting the
    /// login profile loses it).
    Report,
    /// The login profile deleted; `warden restore --password` makes a new one.
    Remove,
}

/// The credential part of the pruner's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialConfig {
    /// `UNUSED_KEY_DAYS` (default 90; CIS 1.12 and Security Hub IAM.22 say 45).
    pub key_days: u32,
    /// `UNUSED_PASSWORD_DAYS` (default 90).
    pub password_days: u32,
    pub keys: KeysMode,
    pub passwords: PasswordsMode,
}

impl Default for CredentialConfig {
    fn default() -> Self {
        Self {
            key_days: 90,
            password_days: 90,
            keys: KeysMode::Deactivate,
            passwords: PasswordsMode::Report,
        }
    }
}

/// What the run knows of a user's credentials from the report, carried in its chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportFacts {
    /// The user's row of the credential report.
    Row(UserRow),
    /// The report could not be had this run (why): the user's credentials are not
    /// checked, nothing is decided on a guess.
    Unavailable(String),
}

/// An access key as IAM says it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKey {
    pub id: String,
    pub active: bool,
    pub created: DateTime<Utc>,
    /// GetAccessKeyLastUsed's date; `None`: never used.
    pub last_used: Option<DateTime<Utc>>,
}

/// One credential gone unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The key's id, or [`PASSWORD`].
    pub credential: String,
    /// Its last use, else its creation (a key's, or the user's for a password), or the
    /// day an operator put it back, whichever is latest.
    pub since: DateTime<Utc>,
    /// Whole days from `since` to the run.
    pub days: i64,
    /// Whether the tool acts on it (deactivates the key, removes the password), or only
    /// says it.
    pub act: bool,
}

/// Whether the report names any of the user's active keys as unused: only then are its
/// keys read one by one (the report spares a call per user).
pub fn keys_nominated(row: &UserRow, cfg: &CredentialConfig, now: DateTime<Utc>) -> bool {
    credentials::unused_of(row, now, i64::from(cfg.key_days), i64::MAX)
        .iter()
        .any(|u| u.slot.is_some())
}

/// The user's credentials gone unused at `now`: its active keys `keys` (as IAM says they
/// are now) not used for `key_days`, and its console password (as the report says) not
/// used for `password_days`. A credential an operator put back counts as used that day;
/// a use the report cannot tell is never unused.
pub fn plan(
    row: &UserRow,
    keys: &[LiveKey],
    previous: Option<&LedgerEntry>,
    cfg: &CredentialConfig,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let lifted = |id: &str| previous.and_then(|p| p.credentials_lifted.get(id).copied());
    let mut out = Vec::new();
    let mut judge = |credential: &str, since: DateTime<Utc>, threshold: u32, act: bool| {
        let since = since.max(lifted(credential).unwrap_or(since));
        let days = (now - since).num_days();
        if days >= i64::from(threshold) {
            out.push(Finding {
                credential: credential.to_owned(),
                since,
                days,
                act,
            });
        }
    };
    for key in keys.iter().filter(|k| k.active) {
        judge(
            &key.id,
            key.last_used.unwrap_or(key.created),
            cfg.key_days,
            cfg.keys == KeysMode::Deactivate,
        );
    }
    if row.password_enabled == Some(true) {
        let since = match row.password_last_used {
            Used::At(t) => Some(t),
            Used::Never => row.created,
            Used::Unknown => None,
        };
        if let Some(since) = since {
            judge(
                PASSWORD,
                since,
                cfg.password_days,
                cfg.passwords == PasswordsMode::Remove,
            );
        }
    }
    out
}

/// The history's word for taking `credential` away.
fn taken_word(credential: &str) -> &'static str {
    if credential == PASSWORD {
        "password removed"
    } else {
        "key deactivated"
    }
}

/// Records in `entry` that the tool takes `finding`'s credential away at `now`: written
/// before the action, so that a retry or a restore knows it.
pub fn record_taken(entry: &mut LedgerEntry, finding: &Finding, now: DateTime<Utc>, by: &str) {
    entry
        .credentials_taken
        .insert(finding.credential.clone(), now);
    entry.credentials_lifted.remove(&finding.credential);
    push(
        entry,
        now,
        taken_word(&finding.credential),
        &finding.credential,
        &format!("{by} (unused {} days)", finding.days),
    );
}

/// The credentials of `wanted` (all when `None`) that the tool took and did not put back.
pub fn taken(entry: &LedgerEntry, wanted: Option<&BTreeSet<String>>) -> Vec<String> {
    entry
        .credentials_taken
        .keys()
        .filter(|c| wanted.is_none_or(|w| w.contains(*c)))
        .cloned()
        .collect()
}

/// Puts back `wanted` (every credential the tool took when `None`) in the ledger: they
/// count as used at `now`. Returns the credentials put back.
pub fn record_lifted(
    entry: &mut LedgerEntry,
    wanted: Option<&BTreeSet<String>>,
    now: DateTime<Utc>,
    by: &str,
) -> Vec<String> {
    let lifted = taken(entry, wanted);
    for c in &lifted {
        entry.credentials_taken.remove(c);
        entry.credentials_lifted.insert(c.clone(), now);
        let action = if c == PASSWORD {
            "password restored"
        } else {
            "key reactivated"
        };
        push(entry, now, action, c, by);
    }
    lifted
}

/// One credential's change in the entry's history.
fn push(entry: &mut LedgerEntry, at: DateTime<Utc>, action: &str, credential: &str, by: &str) {
    entry.record(at, action, &BTreeSet::from([credential.to_owned()]), by);
}

/// What became of one unused credential in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialStatus {
    /// The key was deactivated.
    Deactivated,
    /// The login profile was deleted.
    Removed,
    /// Said only (UNUSED_KEYS=report, a password without UNUSED_PASSWORDS=remove).
    Reported,
    /// It would have been taken away, but MODE=report or a dry run writes nothing.
    NotApplied,
    /// The user or the credential no longer exists.
    Gone,
    /// Not checked or not taken away: see the reason; tried again next run.
    Failed,
}

/// One credential's line of a run's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOutcome {
    /// The key's id, or [`PASSWORD`]; empty when the user's credentials could not be
    /// checked at all.
    pub credential: String,
    pub days: i64,
    pub status: CredentialStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Deactivated => "deactivated",
            CredentialStatus::Removed => "removed",
            CredentialStatus::Reported => "reported",
            CredentialStatus::NotApplied => "not-applied",
            CredentialStatus::Gone => "gone",
            CredentialStatus::Failed => "failed",
        }
    }
}

/// Counts per status.
pub fn summary<'a>(
    outcomes: impl IntoIterator<Item = &'a CredentialOutcome>,
) -> std::collections::BTreeMap<&'static str, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for o in outcomes {
        *counts.entry(o.status.as_str()).or_insert(0) += 1;
    }
    counts
}

impl CredentialOutcome {
    pub fn of(finding: &Finding, status: CredentialStatus) -> Self {
        Self {
            credential: finding.credential.clone(),
            days: finding.days,
            status,
            reason: None,
        }
    }

    pub fn is_password(&self) -> bool {
        self.credential == PASSWORD
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::KeySlot;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn row(password: Option<Used>, created: &str, slots: Vec<KeySlot>) -> UserRow {
        UserRow {
            name: "alice".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            created: Some(at(created)),
            password_enabled: Some(password.is_some()),
            password_last_used: password.unwrap_or(Used::Never),
            mfa_active: false,
            keys: slots,
        }
    }

    fn key(id: &str, active: bool, created: &str, used: Option<&str>) -> LiveKey {
        LiveKey {
            id: id.into(),
            active,
            created: at(created),
            last_used: used.map(at),
        }
    }

    const NOW: &str = "2026-12-05T12:00:00Z";

    #[test]
    fn only_an_active_key_the_report_says_is_unused_nominates_the_user() {
        let cfg = CredentialConfig::default();
        let slot = |active, used| KeySlot {
            slot: 1,
            active,
            created: at("2025-01-01T00:00:00Z"),
            last_used: used,
        };
        let old = Used::At(at("2026-09-06T12:00:00Z")); // 90 days
        let recent = Used::At(at("2026-09-07T12:00:00Z")); // 89 days
        let now = at(NOW);
        assert!(keys_nominated(
            &row(None, "2025-01-01T00:00:00Z", vec![slot(true, old)]),
            &cfg,
            now
        ));
        assert!(!keys_nominated(
            &row(None, "2025-01-01T00:00:00Z", vec![slot(true, recent)]),
            &cfg,
            now
        ));
        assert!(!keys_nominated(
            &row(None, "2025-01-01T00:00:00Z", vec![slot(false, old)]),
            &cfg,
            now
        ));
        // An unused password alone reads no key.
        assert!(!keys_nominated(
            &row(Some(Used::Never), "2025-01-01T00:00:00Z", vec![]),
            &cfg,
            now
        ));
    }

    #[test]
    fn keys_are_judged_as_iam_says_they_are_now_at_the_threshold_exactly() {
        let cfg = CredentialConfig::default();
        let r = row(None, "2025-01-01T00:00:00Z", vec![]);
        let keys = vec![
            // used 90 days ago: unused, acted on
            key(
                "AKIAOLD",
                true,
                "2025-01-01T00:00:00Z",
                Some("2026-09-06T12:00:00Z"),
            ),
            // used 89 days ago
            key(
                "AKIARECENT",
                true,
                "2025-01-01T00:00:00Z",
                Some("2026-09-07T12:00:00Z"),
            ),
            // never used, made 90 days ago: from its creation
            key("AKIANEVER", true, "2026-09-06T12:00:00Z", None),
            // never used, made 89 days ago
            key("AKIAYOUNG", true, "2026-09-07T12:00:00Z", None),
            // inactive already: not the tool's to judge
            key("AKIAOFF", false, "2020-01-01T00:00:00Z", None),
        ];
        let found = plan(&r, &keys, None, &cfg, at(NOW));
        assert_eq!(
            found,
            vec![
                Finding {
                    credential: "AKIAOLD".into(),
                    since: at("2026-09-06T12:00:00Z"),
                    days: 90,
                    act: true
                },
                Finding {
                    credential: "AKIANEVER".into(),
                    since: at("2026-09-06T12:00:00Z"),
                    days: 90,
                    act: true
                },
            ]
        );
        let report_only = CredentialConfig {
            keys: KeysMode::Report,
            key_days: 45,
            ..cfg
        };
        let found = plan(&r, &keys, None, &report_only, at(NOW));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found.iter().all(|f| !f.act),
            "UNUSED_KEYS=report acts on none"
        );
    }

    #[test]
    fn a_credential_put_back_counts_as_used_that_day() {
        let cfg = CredentialConfig::default();
        let r = row(Some(Used::Never), "2025-01-01T00:00:00Z", vec![]);
        let keys = vec![key("AKIAOLD", true, "2025-01-01T00:00:00Z", None)];
        let mut entry = LedgerEntry::new(&r.arn);
        assert_eq!(plan(&r, &keys, Some(&entry), &cfg, at(NOW)).len(), 2);
        let finding = &plan(&r, &keys, Some(&entry), &cfg, at(NOW))[0];
        record_taken(&mut entry, finding, at("2026-11-01T00:00:00Z"), "run-1");
        assert_eq!(
            entry.credentials_taken.keys().collect::<Vec<_>>(),
            ["AKIAOLD"]
        );
        assert_eq!(entry.history.last().unwrap().action, "key deactivated");
        assert!(entry.history.last().unwrap().by.contains("unused"));
        let wanted: BTreeSet<String> = ["AKIAOLD".to_owned()].into();
        assert_eq!(
            record_lifted(
                &mut entry,
                Some(&wanted),
                at("2026-11-20T00:00:00Z"),
                "restore"
            ),
            ["AKIAOLD"]
        );
        assert!(entry.credentials_taken.is_empty());
        assert_eq!(entry.history.last().unwrap().action, "key reactivated");
        // Put back 15 days before the run: used then, so not unused for 90 days.
        let found = plan(&r, &keys, Some(&entry), &cfg, at(NOW));
        assert_eq!(
            found
                .iter()
                .map(|f| f.credential.as_str())
                .collect::<Vec<_>>(),
            [PASSWORD]
        );
        // 90 days after it was put back, unused again; and a second record clears the
        // lifted date.
        let later = at("2027-02-18T00:00:00Z");
        let found = plan(&r, &keys, Some(&entry), &cfg, later);
        assert_eq!(found[0].since, at("2026-11-20T00:00:00Z"));
        assert_eq!(found[0].days, 90);
        record_taken(&mut entry, &found[0], later, "run-2");
        assert!(entry.credentials_lifted.is_empty());
        // Nothing taken: nothing to lift.
        let mut empty = LedgerEntry::new(&r.arn);
        assert!(record_lifted(&mut empty, None, later, "restore").is_empty());
        assert!(empty.history.is_empty());
    }

    #[test]
    fn a_password_is_judged_from_its_last_use_else_the_users_creation_and_removed_only_when_asked()
    {
        let now = at(NOW);
        let cfg = CredentialConfig::default();
        let never_young = row(Some(Used::Never), "2026-09-07T12:00:00Z", vec![]);
        assert!(
            plan(&never_young, &[], None, &cfg, now).is_empty(),
            "89 days"
        );
        let never_old = row(Some(Used::Never), "2026-09-06T12:00:00Z", vec![]);
        let found = plan(&never_old, &[], None, &cfg, now);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].credential.as_str(), found[0].days, found[0].act),
            (PASSWORD, 90, false)
        );
        let remove = CredentialConfig {
            passwords: PasswordsMode::Remove,
            password_days: 30,
            ..cfg
        };
        let used = row(
            Some(Used::At(at("2026-11-05T12:00:00Z"))),
            "2020-01-01T00:00:00Z",
            vec![],
        );
        let found = plan(&used, &[], None, &remove, now);
        assert_eq!((found[0].days, found[0].act), (30, true));
        assert!(plan(&used, &[], None, &cfg, now).is_empty(), "30 < 90");
        let unknown = row(Some(Used::Unknown), "2020-01-01T00:00:00Z", vec![]);
        assert!(plan(&unknown, &[], None, &remove, now).is_empty());
        let mut no_password = row(None, "2020-01-01T00:00:00Z", vec![]);
        no_password.password_last_used = Used::At(at("2020-01-01T00:00:00Z"));
        assert!(plan(&no_password, &[], None, &remove, now).is_empty());
    }

    #[test]
    fn statuses_are_named_as_serialised_and_counted() {
        use CredentialStatus::*;
        for status in [Deactivated, Removed, Reported, NotApplied, Gone, Failed] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::String(status.as_str().to_owned())
            );
        }
        let o = |credential: &str, status| CredentialOutcome {
            credential: credential.into(),
            days: 100,
            status,
            reason: None,
        };
        let outs = [
            o("AKIA1", Deactivated),
            o("AKIA2", Deactivated),
            o(PASSWORD, Reported),
        ];
        assert_eq!(
            summary(&outs),
            std::collections::BTreeMap::from([("deactivated", 2), ("reported", 1)])
        );
        assert!(outs[2].is_password() && !outs[0].is_password());
    }
}
