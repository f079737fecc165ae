//! CloudTrail records as a test needs them: the samples of events/ moved into the test
//! account with the ids IAM has for their callers, records made up for a call, and the
//! EventBridge event that carries one.

use crate::TestAccount;

impl TestAccount {
    /// Gives a CloudTrail record (or an EventBridge event's `detail`) the unique ids IAM
    /// has for its caller in this account, as CloudTrail would record them: the user's id
    /// (`principalId`), or the role's in the session issuer. A caller that does not exist
    /// keeps what the record had.
    pub async fn real_ids(&self, record: &mut serde_json::Value) {
        let record = match record.get_mut("detail") {
            Some(detail) => detail,
            None => record,
        };
        let Some(identity) = record.get_mut("userIdentity") else {
            return;
        };
        let kind = identity["type"].as_str().unwrap_or_default().to_owned();
        let user_id = |name: String| async move {
            self.iam
                .get_user()
                .user_name(name)
                .send()
                .await
                .ok()
                .and_then(|o| o.user)
                .map(|u| u.user_id)
        };
        match kind.as_str() {
            "IAMUser" => {
                let name = identity["userName"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        identity["arn"]
                            .as_str()
                            .and_then(|a| a.rsplit('/').next())
                            .map(str::to_owned)
                    });
                if let Some(id) = match name {
                    Some(n) => user_id(n).await,
                    None => None,
                } {
                    identity["principalId"] = serde_json::Value::String(id);
                }
            }
            "AssumedRole" | "FederatedUser" => {
                let issuer = &identity["sessionContext"]["sessionIssuer"];
                let name = issuer["userName"].as_str().map(str::to_owned).or_else(|| {
                    issuer["arn"]
                        .as_str()
                        .and_then(|a| a.rsplit('/').next())
                        .map(str::to_owned)
                });
                let id = match (kind.as_str(), name) {
                    ("AssumedRole", Some(n)) => self
                        .iam
                        .get_role()
                        .role_name(n)
                        .send()
                        .await
                        .ok()
                        .and_then(|o| o.role)
                        .map(|r| r.role_id),
                    (_, Some(n)) => user_id(n).await,
                    _ => None,
                };
                if let Some(id) = id {
                    // A role session's principalId is `ROLE-ID:SESSION-NAME`, as AWS
                    // writes it: the session's aws:userid.
                    if kind == "AssumedRole" {
                        if let Some((_, session)) = identity["principalId"]
                            .as_str()
                            .and_then(|p| p.split_once(':'))
                        {
                            identity["principalId"] =
                                serde_json::Value::String(format!("{id}:{session}"));
                        }
                    }
                    identity["sessionContext"]["sessionIssuer"]["principalId"] =
                        serde_json::Value::String(id);
                }
            }
            _ => {}
        }
    }

    /// A sample event of events/, moved into this account, with the ids IAM has for its
    /// caller.
    pub async fn real_event(&self, fixture: &str) -> String {
        let mut value: serde_json::Value =
            serde_json::from_str(&self.event(fixture)).expect("a JSON event");
        self.real_ids(&mut value).await;
        value.to_string()
    }

    /// A sample event of events/, moved into this account.
    pub fn event(&self, fixture: &str) -> String {
        let path = format!("{}/../events/{fixture}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .replace("123456789012", &self.id)
    }
}

/// A CloudTrail record of an IAM call by the IAM user `caller` of `account`, made
/// `minutes_ago` minutes ago.
pub fn iam_call(
    account: &str,
    id: &str,
    caller: &str,
    name: &str,
    params: serde_json::Value,
    minutes_ago: i64,
) -> serde_json::Value {
    let time = (chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": account,
            "arn": format!("arn:aws:iam::{account}:user/{caller}"), "userName": caller},
        "eventTime": time, "eventSource": "iam.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.17.0",
        "requestParameters": params, "responseElements": null, "requestID": format!("req-{id}"),
        "eventID": id, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": account,
    })
}

/// The member role's trust policy (central mode): only the central account's function
/// roles may assume it.
pub fn member_trust(central: &str, roles: &[&str]) -> serde_json::Value {
    let arns: Vec<String> = roles
        .iter()
        .map(|r| format!("arn:aws:iam::{central}:role/{r}"))
        .collect();
    serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{central}:root")},
        "Action": "sts:AssumeRole",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": arns}}
    }]})
}

/// The EventBridge event that carries a CloudTrail record (the body of an SQS message).
pub fn eventbridge(record: &serde_json::Value) -> String {
    serde_json::json!({
        "version": "0", "id": format!("eb-{}", record["eventID"].as_str().unwrap_or("x")),
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
        "account": record["recipientAccountId"], "time": record["eventTime"],
        "region": "us-east-1", "resources": [], "detail": record,
    })
    .to_string()
}
