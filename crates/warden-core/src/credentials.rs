//! Unused credentials (issue 21), the pure part: IAM's credential report read as AWS
//! writes it, and which access keys and console passwords have gone unused.
//!
//! The report is one CSV for the whole account (GenerateCredentialReport, at most one new
//! report every 4 hours; GetCredentialReport), so the pruner reads every user's password
//! and key use with one call instead of one per user. Its special values, as the IAM User
//! Guide ("Getting credential reports") gives them:
//! - the root user's row is `<root_account>`, and its password columns `not_supported`;
//! - `N/A`: not applicable (no password, no such key, a key never used);
//! - `no_information`: a password never used, or not since IAM began tracking (2014).
//!
//! A column the tool does not know is ignored; a column it needs that is missing, or a
//! value it cannot read, is an error naming it: nothing is decided on a guess.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The root user's row name.
pub const ROOT_USER: &str = "<root_account>";

/// When a credential was last used, as the report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Used {
    At(DateTime<Utc>),
    /// `N/A` or `no_information`: never used (or not since tracking began).
    Never,
    /// `not_supported`: the report cannot say.
    Unknown,
}

/// One of a user's two access key slots, when it holds a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySlot {
    /// 1 or 2: the report's `access_key_<n>_*` columns.
    pub slot: u8,
    pub active: bool,
    /// `last_rotated`: when the key was created (or last changed).
    pub created: DateTime<Utc>,
    pub last_used: Used,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub name: String,
    pub arn: String,
    /// `None` for the root user (`not_supported`) and unreadable dates are errors.
    pub created: Option<DateTime<Utc>>,
    /// `None`: not supported (the root user).
    pub password_enabled: Option<bool>,
    pub password_last_used: Used,
    pub mfa_active: bool,
    pub keys: Vec<KeySlot>,
}

impl UserRow {
    pub fn is_root(&self) -> bool {
        self.name == ROOT_USER
    }
}

/// The report: the root user's row apart from the users'.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub root: Option<UserRow>,
    pub users: Vec<UserRow>,
}

/// Why a report cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the credential report is not CSV: {0}")]
    Csv(String),
    #[error("the credential report has no `{0}` column")]
    MissingColumn(&'static str),
    #[error("the credential report's row {row}, column `{column}`: `{value}` is not {expected}")]
    BadValue {
        row: usize,
        column: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The columns the tool reads; any other is ignored.
const USER: &str = "user";
const ARN: &str = "arn";
const CREATED: &str = "user_creation_time";
const PASSWORD_ENABLED: &str = "password_enabled";
const PASSWORD_LAST_USED: &str = "password_last_used";
const MFA_ACTIVE: &str = "mfa_active";
const KEY_COLUMNS: [[&str; 3]; 2] = [
    [
        "access_key_1_active",
        "access_key_1_last_rotated",
        "access_key_1_last_used_date",
    ],
    [
        "access_key_2_active",
        "access_key_2_last_rotated",
        "access_key_2_last_used_date",
    ],
];

/// One row's cells by column, with its number for errors.
struct Row<'a> {
    n: usize,
    cells: &'a csv::StringRecord,
    index: &'a HashMap<String, usize>,
}

impl Row<'_> {
    fn get(&self, column: &'static str) -> Result<&str, ReportError> {
        let i = self
            .index
            .get(column)
            .ok_or(ReportError::MissingColumn(column))?;
        Ok(self.cells.get(*i).unwrap_or_default().trim())
    }

    fn bad(&self, column: &'static str, value: &str, expected: &'static str) -> ReportError {
        ReportError::BadValue {
            row: self.n,
            column,
            value: value.to_owned(),
            expected,
        }
    }

    fn flag(&self, column: &'static str) -> Result<Option<bool>, ReportError> {
        match self.get(column)? {
            "true" | "TRUE" => Ok(Some(true)),
            "false" | "FALSE" => Ok(Some(false)),
            "not_supported" => Ok(None),
            other => Err(self.bad(column, other, "true, false or not_supported")),
        }
    }

    fn time(&self, column: &'static str, value: &str) -> Result<DateTime<Utc>, ReportError> {
        DateTime::parse_from_rfc3339(value)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| self.bad(column, value, "an ISO 8601 date-time"))
    }

    fn date(&self, column: &'static str) -> Result<Option<DateTime<Utc>>, ReportError> {
        match self.get(column)? {
            "N/A" | "not_supported" | "no_information" => Ok(None),
            value => self.time(column, value).map(Some),
        }
    }

    fn used(&self, column: &'static str) -> Result<Used, ReportError> {
        match self.get(column)? {
            "N/A" | "no_information" => Ok(Used::Never),
            "not_supported" => Ok(Used::Unknown),
            value => self.time(column, value).map(Used::At),
        }
    }

    fn user(&self) -> Result<UserRow, ReportError> {
        let mut keys = Vec::new();
        for (slot, [active, rotated, used]) in (1u8..).zip(KEY_COLUMNS) {
            // A slot without a key: `false` and `N/A`.
            let Some(created) = self.date(rotated)? else {
                continue;
            };
            keys.push(KeySlot {
                slot,
                active: self.flag(active)? == Some(true),
                created,
                last_used: self.used(used)?,
            });
        }
        Ok(UserRow {
            name: self.get(USER)?.to_owned(),
            arn: self.get(ARN)?.to_owned(),
            created: self.date(CREATED)?,
            password_enabled: self.flag(PASSWORD_ENABLED)?,
            password_last_used: self.used(PASSWORD_LAST_USED)?,
            mfa_active: self.flag(MFA_ACTIVE)? == Some(true),
            keys,
        })
    }
}

/// Reads the report's CSV (decoded from GetCredentialReport's base64).
pub fn parse(content: &[u8]) -> Result<Report, ReportError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(content);
    let index: HashMap<String, usize> = reader
        .headers()
        .map_err(|e| ReportError::Csv(e.to_string()))?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_owned(), i))
        .collect();
    for needed in [
        USER,
        ARN,
        CREATED,
        PASSWORD_ENABLED,
        PASSWORD_LAST_USED,
        MFA_ACTIVE,
    ]
    .into_iter()
    .chain(KEY_COLUMNS.into_iter().flatten())
    {
        if !index.contains_key(needed) {
            return Err(ReportError::MissingColumn(needed));
        }
    }
    let mut report = Report::default();
    for (n, cells) in reader.records().enumerate() {
        let cells = cells.map_err(|e| ReportError::Csv(e.to_string()))?;
        let row = Row {
            n: n + 1,
            cells: &cells,
            index: &index,
        };
        let user = row.user()?;
        if user.is_root() {
            report.root = Some(user);
        } else {
            report.users.push(user);
        }
    }
    Ok(report)
}

/// An access key or a console password gone unused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused {
    pub user: String,
    /// The key slot (`None`: the console password).
    pub slot: Option<u8>,
    /// Since when: its last use, else (never used) the key's creation or the user's.
    pub since: DateTime<Utc>,
    /// Whole days from `since` to the evaluation time.
    pub days: i64,
}

/// The active access keys and the console passwords of `report`'s users (never the root
/// user's: that is `warden assess`'s) not used for `key_days` / `password_days` at `now`:
/// a key never used counts from its creation, a password never used from the user's
/// creation (so a user younger than the threshold has nothing unused); a use the report
/// cannot tell is never unused.
pub fn unused(
    report: &Report,
    now: DateTime<Utc>,
    key_days: i64,
    password_days: i64,
) -> Vec<Unused> {
    report
        .users
        .iter()
        .flat_map(|user| unused_of(user, now, key_days, password_days))
        .collect()
}

/// [`unused`] for one user's row.
pub fn unused_of(
    user: &UserRow,
    now: DateTime<Utc>,
    key_days: i64,
    password_days: i64,
) -> Vec<Unused> {
    let mut out = Vec::new();
    let mut judge = |slot: Option<u8>, since: Option<DateTime<Utc>>, threshold: i64| {
        if let Some(since) = since {
            let days = (now - since).num_days();
            if days >= threshold {
                out.push(Unused {
                    user: user.name.clone(),
                    slot,
                    since,
                    days,
                });
            }
        }
    };
    for key in user.keys.iter().filter(|k| k.active) {
        let since = match key.last_used {
            Used::At(t) => Some(t),
            Used::Never => Some(key.created),
            Used::Unknown => None,
        };
        judge(Some(key.slot), since, key_days);
    }
    if user.password_enabled == Some(true) {
        let since = match user.password_last_used {
            Used::At(t) => Some(t),
            Used::Never => user.created,
            Used::Unknown => None,
        };
        judge(None, since, password_days);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    /// A report as IAM writes it: the root user, a user with a password never used and
    /// one key used, one with two keys (one never used, one inactive) and no password.
    fn sample() -> String {
        [
            HEADER,
            "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-11-01T10:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            "alice,arn:aws:iam::123456789012:user/alice,2025-01-01T00:00:00+00:00,true,no_information,2025-01-01T00:00:00+00:00,N/A,false,true,2025-02-01T00:00:00+00:00,2026-11-30T08:00:00+00:00,us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            "\"ci,bot\",\"arn:aws:iam::123456789012:user/ci,bot\",2025-03-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2025-03-02T00:00:00+00:00,N/A,N/A,N/A,false,2025-04-01T00:00:00+00:00,2025-05-01T00:00:00+00:00,us-east-1,ec2,false,N/A,false,N/A",
        ]
        .join("\n")
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_report_is_read_with_its_special_values_and_the_root_user_apart() {
        let report = parse(sample().as_bytes()).unwrap();
        let root = report.root.as_ref().unwrap();
        assert!(root.is_root());
        assert_eq!(root.password_enabled, None, "not_supported");
        assert!(root.mfa_active);
        assert!(root.keys.is_empty(), "N/A: no key");
        assert_eq!(report.users.len(), 2);
        let alice = &report.users[0];
        assert_eq!(alice.name, "alice");
        assert_eq!(alice.password_enabled, Some(true));
        assert_eq!(alice.password_last_used, Used::Never, "no_information");
        assert!(!alice.mfa_active);
        assert_eq!(
            alice.keys,
            vec![KeySlot {
                slot: 1,
                active: true,
                created: at("2025-02-01T00:00:00Z"),
                last_used: Used::At(at("2026-11-30T08:00:00Z")),
            }]
        );
        // A quoted name with a comma (IAM allows `,`), two keys, the second inactive.
        let ci = &report.users[1];
        assert_eq!(ci.name, "ci,bot");
        assert_eq!(ci.password_enabled, Some(false));
        assert_eq!(ci.keys.len(), 2);
        assert_eq!(ci.keys[0].last_used, Used::Never, "N/A: never used");
        assert_eq!((ci.keys[1].slot, ci.keys[1].active), (2, false));
    }

    #[test]
    fn unknown_columns_are_ignored_and_missing_or_unreadable_ones_named() {
        let extra = sample().replacen(HEADER, &format!("{HEADER},new_column"), 1);
        let extra: String = extra
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    l.to_owned()
                } else {
                    format!("{l},x")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(parse(extra.as_bytes()).unwrap().users.len(), 2);
        let missing = sample().replacen("mfa_active", "mfa", 1);
        assert_eq!(
            parse(missing.as_bytes()),
            Err(ReportError::MissingColumn("mfa_active"))
        );
        let odd = sample().replacen("2025-02-01T00:00:00+00:00", "yesterday", 1);
        let err = parse(odd.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            ReportError::BadValue {
                row: 2,
                column: "access_key_1_last_rotated",
                value: "yesterday".into(),
                expected: "an ISO 8601 date-time"
            }
        );
        let flag = sample().replacen(",true,no_information", ",maybe,no_information", 1);
        assert!(matches!(
            parse(flag.as_bytes()),
            Err(ReportError::BadValue {
                column: "password_enabled",
                ..
            })
        ));
        let ragged = format!("{}\nbob,arn", sample());
        assert!(matches!(parse(ragged.as_bytes()), Err(ReportError::Csv(_))));
        assert!(parse(HEADER.as_bytes()).unwrap().users.is_empty());
    }

    fn user(created: &str, password: Option<Used>, keys: Vec<KeySlot>) -> UserRow {
        UserRow {
            name: "u".into(),
            arn: "arn:aws:iam::1:user/u".into(),
            created: Some(at(created)),
            password_enabled: Some(password.is_some()),
            password_last_used: password.unwrap_or(Used::Never),
            mfa_active: false,
            keys,
        }
    }

    fn key(slot: u8, active: bool, created: &str, used: Used) -> KeySlot {
        KeySlot {
            slot,
            active,
            created: at(created),
            last_used: used,
        }
    }

    #[test]
    fn a_credential_is_unused_from_its_last_use_else_its_creation_at_the_threshold_exactly() {
        let now = at("2026-12-05T00:00:00Z");
        let report = Report {
            root: None,
            users: vec![user(
                "2025-01-01T00:00:00Z",
                Some(Used::At(at("2026-09-06T00:00:00Z"))),
                vec![
                    // used 90 days ago exactly: unused
                    key(
                        1,
                        true,
                        "2025-01-02T00:00:00Z",
                        Used::At(at("2026-09-06T00:00:00Z")),
                    ),
                    // never used, made 89 days ago: not yet
                    key(2, true, "2026-09-07T00:00:00Z", Used::Never),
                ],
            )],
        };
        let found = unused(&report, now, 90, 90);
        assert_eq!(
            found,
            vec![
                Unused {
                    user: "u".into(),
                    slot: Some(1),
                    since: at("2026-09-06T00:00:00Z"),
                    days: 90
                },
                Unused {
                    user: "u".into(),
                    slot: None,
                    since: at("2026-09-06T00:00:00Z"),
                    days: 90
                },
            ]
        );
        assert!(unused(&report, now, 91, 91).is_empty(), "one day short");
        // A key never used counts from its creation; an inactive or unknown one is not judged.
        let report = Report {
            root: None,
            users: vec![user(
                "2025-01-01T00:00:00Z",
                None,
                vec![
                    key(1, true, "2026-01-01T00:00:00Z", Used::Never),
                    key(2, false, "2025-01-01T00:00:00Z", Used::Never),
                ],
            )],
        };
        let found = unused(&report, now, 90, 90);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].slot, found[0].since),
            (Some(1), at("2026-01-01T00:00:00Z"))
        );
        let unknown = Report {
            root: None,
            users: vec![user(
                "2025-01-01T00:00:00Z",
                Some(Used::Unknown),
                vec![key(1, true, "2025-01-01T00:00:00Z", Used::Unknown)],
            )],
        };
        assert!(
            unused(&unknown, now, 90, 90).is_empty(),
            "unknown is never unused"
        );
        // A password never used counts from the user's creation: a young user has none.
        let never = Report {
            root: None,
            users: vec![user("2026-01-01T00:00:00Z", Some(Used::Never), vec![])],
        };
        assert_eq!(
            unused(&never, now, 90, 90)[0].since,
            at("2026-01-01T00:00:00Z")
        );
        let young = Report {
            root: None,
            users: vec![user(
                "2026-10-01T00:00:00Z",
                Some(Used::Never),
                vec![key(1, true, "2026-10-01T00:00:00Z", Used::Never)],
            )],
        };
        assert!(unused(&young, now, 90, 90).is_empty(), "65 days old");
        assert_eq!(
            unused(&young, now, 65, 90).len(),
            1,
            "the key's threshold alone"
        );
        assert_eq!(
            unused(&young, now, 90, 65).len(),
            1,
            "the password's threshold alone"
        );
        // The root user's row is never judged here.
        let mut with_root = never.clone();
        with_root.root = with_root.users.pop();
        assert!(unused(&with_root, now, 1, 1).is_empty());
    }
}
