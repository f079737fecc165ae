//! The CloudTrail event model and the input formats iam-warden accepts.
//!
//! Every field CloudTrail may omit is an `Option`, and unknown fields are kept out of
//! the way (serde ignores them), so a record from a newer CloudTrail version still
//! parses. Only the outer shape is strict: a body that is not JSON, or an EventBridge
//! CloudTrail event whose `detail` is not a CloudTrail record, is a [`ParseError`].

use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `detail-type` EventBridge gives to CloudTrail management events.
pub const CLOUDTRAIL_DETAIL_TYPE: &str = "AWS API Call via CloudTrail";
/// The `eventSource` of IAM API calls.
pub const IAM_EVENT_SOURCE: &str = "iam.amazonaws.com";

/// Why an input could not be read as events.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not gzip-compressed JSON: {0}")]
    Gzip(String),
    #[error("unrecognised input: {0}")]
    Shape(String),
    #[error("`detail` is not a CloudTrail record: {0}")]
    Detail(String),
}

/// One CloudTrail record, as found in `detail` of an EventBridge event or in
/// `Records` of a log file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailRecord {
    pub event_version: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: Option<String>,
    pub event_time: Option<String>,
    pub event_source: Option<String>,
    pub event_name: Option<String>,
    pub event_type: Option<String>,
    pub aws_region: Option<String>,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub user_identity: Option<UserIdentity>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub read_only: Option<bool>,
    pub recipient_account_id: Option<String>,
    #[serde(rename = "requestID")]
    pub request_id: Option<String>,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    pub invoked_by: Option<String>,
    pub session_context: Option<SessionContext>,
    pub on_behalf_of: Option<OnBehalfOf>,
    /// A federated caller's provider (`WebIdentityUser`, `SAMLUser`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    pub session_issuer: Option<SessionIssuer>,
    pub attributes: Option<SessionAttributes>,
    /// The identity set with `sts:SetSourceIdentity` when the session was made (it stays
    /// through a chain of roles): who is behind the session, for the notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

/// When a session began (`creationDate`): for an IAM user's session, when it signed in.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    pub creation_date: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub principal_id: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub user_name: Option<String>,
}

/// Identity Center users carry the identity store they belong to.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnBehalfOf {
    pub user_id: Option<String>,
    pub identity_store_arn: Option<String>,
}

impl CloudTrailRecord {
    /// `readOnly` as recorded; when CloudTrail left it out, inferred from the action's verb.
    pub fn is_read_only(&self) -> bool {
        self.read_only.unwrap_or_else(|| {
            let name = self.event_name.as_deref().unwrap_or_default();
            ["Get", "List", "Simulate"]
                .iter()
                .any(|verb| name.starts_with(verb))
        })
    }

    pub fn is_iam_api_call(&self) -> bool {
        self.event_source.as_deref() == Some(IAM_EVENT_SOURCE)
            && self.event_type.as_deref().is_none_or(|t| t == "AwsApiCall")
    }

    pub fn is_failed(&self) -> bool {
        self.error_code.as_deref().is_some_and(|c| !c.is_empty())
    }

    /// A string request parameter, such as `userName`.
    pub fn request_param(&self, key: &str) -> Option<&str> {
        self.request_parameters.as_ref()?.get(key)?.as_str()
    }
}

/// One event to decide on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A CloudTrail record, from EventBridge (with the envelope's id) or from a log file.
    CloudTrail {
        envelope_id: Option<String>,
        /// The EventBridge envelope's `account`: the account whose bus the event was put
        /// on by AWS (central mode routes by it, and it must equal `recipientAccountId`).
        envelope_account: Option<String>,
        record: Box<CloudTrailRecord>,
    },
    /// An EventBridge event of another `detail-type`: never acted on.
    Other {
        envelope_id: Option<String>,
        detail_type: String,
    },
}

impl Event {
    pub fn record(&self) -> Option<&CloudTrailRecord> {
        match self {
            Event::CloudTrail { record, .. } => Some(record),
            Event::Other { .. } => None,
        }
    }

    /// The CloudTrail eventID, else the EventBridge id.
    pub fn event_id(&self) -> Option<&str> {
        match self {
            Event::CloudTrail {
                envelope_id,
                record,
                ..
            } => record.event_id.as_deref().or(envelope_id.as_deref()),
            Event::Other { envelope_id, .. } => envelope_id.as_deref(),
        }
    }

    /// The EventBridge envelope's `account`, when the event came through EventBridge.
    pub fn envelope_account(&self) -> Option<&str> {
        match self {
            Event::CloudTrail {
                envelope_account, ..
            } => envelope_account.as_deref(),
            Event::Other { .. } => None,
        }
    }

    pub fn event_name(&self) -> Option<&str> {
        self.record().and_then(|r| r.event_name.as_deref())
    }
}

/// Parses the body of one SQS message: exactly one EventBridge event.
pub fn parse_eventbridge(body: &str) -> Result<Event, ParseError> {
    let value: Value = serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))?;
    eventbridge_from_value(value)
}

fn eventbridge_from_value(mut value: Value) -> Result<Event, ParseError> {
    let Some(obj) = value.as_object_mut() else {
        return Err(ParseError::Shape("expected a JSON object".into()));
    };
    let Some(detail_type) = obj
        .get("detail-type")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Err(ParseError::Shape(
            "not an EventBridge event (no `detail-type`)".into(),
        ));
    };
    let envelope_id = obj.get("id").and_then(Value::as_str).map(str::to_owned);
    let envelope_account = obj
        .get("account")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if detail_type != CLOUDTRAIL_DETAIL_TYPE {
        return Ok(Event::Other {
            envelope_id,
            detail_type,
        });
    }
    let detail = obj.remove("detail").unwrap_or(Value::Null);
    let record = record_from_value(detail)?;
    Ok(Event::CloudTrail {
        envelope_id,
        envelope_account,
        record: Box::new(record),
    })
}

fn record_from_value(value: Value) -> Result<CloudTrailRecord, ParseError> {
    if !value.is_object() {
        return Err(ParseError::Detail("expected a JSON object".into()));
    }
    let record: CloudTrailRecord =
        serde_json::from_value(value).map_err(|e| ParseError::Detail(e.to_string()))?;
    if record.event_name.is_none() || record.event_source.is_none() {
        return Err(ParseError::Detail(
            "missing `eventName` or `eventSource`".into(),
        ));
    }
    Ok(record)
}

/// Parses a file given to `warden replay`: one EventBridge event, an SQS event of
/// EventBridge events, a CloudTrail log file (`{"Records":[...]}`), or a JSON array of
/// any of these; plain or gzip-compressed (detected by its magic bytes).
///
/// Each item parses on its own: one bad item does not hide the others.
pub fn parse_file(bytes: &[u8]) -> Result<Vec<Result<Event, ParseError>>, ParseError> {
    let text;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| ParseError::Gzip(e.to_string()))?;
        text = out;
        text.as_slice()
    } else {
        bytes
    };
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ParseError::Json(e.to_string()))?;
    let mut out = Vec::new();
    collect(value, &mut out);
    Ok(out)
}

fn collect(value: Value, out: &mut Vec<Result<Event, ParseError>>) {
    match value {
        Value::Array(items) => items.into_iter().for_each(|item| collect(item, out)),
        Value::Object(mut obj) => match obj.remove("Records") {
            Some(Value::Array(records)) => {
                for record in records {
                    out.push(from_record_item(record));
                }
            }
            Some(_) => out.push(Err(ParseError::Shape("`Records` is not an array".into()))),
            None => out.push(eventbridge_from_value(Value::Object(obj))),
        },
        _ => out.push(Err(ParseError::Shape(
            "expected a JSON object or array".into(),
        ))),
    }
}

/// An item of `Records`: an SQS record (its `body` holds an EventBridge event) or a
/// CloudTrail record from a log file.
fn from_record_item(item: Value) -> Result<Event, ParseError> {
    if let Some(body) = item.get("body") {
        let body = body
            .as_str()
            .ok_or_else(|| ParseError::Shape("SQS record `body` is not a string".into()))?;
        return parse_eventbridge(body);
    }
    record_from_value(item).map(|record| Event::CloudTrail {
        envelope_id: None,
        envelope_account: None,
        record: Box::new(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EB: &str = r#"{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventID":"ct-1","someFutureField":{"x":1},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/dev1"}}}"#;

    #[test]
    fn eventbridge_event_keeps_cloudtrail_event_id_and_ignores_unknown_fields() {
        let event = parse_eventbridge(EB).unwrap();
        assert_eq!(event.event_id(), Some("ct-1"));
        assert_eq!(event.event_name(), Some("CreateUser"));
    }

    #[test]
    fn other_detail_types_parse_as_other() {
        let event =
            parse_eventbridge(r#"{"id":"x","detail-type":"Scheduled Event","detail":{}}"#).unwrap();
        assert!(
            matches!(event, Event::Other { ref detail_type, .. } if detail_type == "Scheduled Event")
        );
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            "",
            "not json",
            "[]",
            "42",
            r#"{"id":"x"}"#,
            r#"{"detail-type":"AWS API Call via CloudTrail","detail":"text"}"#,
            r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":1}}"#,
            r#"{"detail-type":"AWS API Call via CloudTrail","detail":{}}"#,
        ] {
            assert!(
                parse_eventbridge(body).is_err(),
                "{body:?} should not parse"
            );
        }
    }

    #[test]
    fn file_formats_are_detected() {
        let sqs = serde_json::json!({"Records":[{"messageId":"m1","body":EB},{"messageId":"m2","body":"garbage"}]});
        let parsed = parse_file(sqs.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(parsed[0].is_ok());
        assert!(parsed[1].is_err());

        let log = r#"{"Records":[{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventID":"a"}]}"#;
        let parsed = parse_file(log.as_bytes()).unwrap();
        assert_eq!(parsed[0].as_ref().unwrap().event_id(), Some("a"));

        let array = format!("[{EB},{log}]");
        assert_eq!(parse_file(array.as_bytes()).unwrap().len(), 2);
    }

    #[test]
    fn gzip_log_files_are_read() {
        use std::io::Write;
        let log = r#"{"Records":[{"eventName":"CreateUser","eventSource":"iam.amazonaws.com"}]}"#;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(log.as_bytes()).unwrap();
        let parsed = parse_file(&enc.finish().unwrap()).unwrap();
        assert_eq!(parsed.len(), 1);
        assert!(parsed[0].is_ok());
    }

    #[test]
    fn read_only_is_inferred_when_absent() {
        let mut r = CloudTrailRecord {
            event_name: Some("ListUsers".into()),
            ..Default::default()
        };
        assert!(r.is_read_only());
        r.event_name = Some("CreateUser".into());
        assert!(!r.is_read_only());
        r.read_only = Some(true);
        assert!(r.is_read_only());
    }
}
