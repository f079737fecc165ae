//! The digest to Slack: an incoming-webhook URL kept in Secrets Manager, read once.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use warden_core::notice::Notice;
use warden_core::ports::{Chat, PortError};

use crate::error::{bad, classify};
use crate::AwsAccount;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Only HTTPS leaves the machine; plain HTTP only to loopback (tests, local relays).
fn check_url(url: &str) -> Result<http::Uri, PortError> {
    let uri: http::Uri = url.parse().map_err(|_| {
        bad(
            "PostWebhook",
            "the webhook secret does not hold a URL".into(),
        )
    })?;
    let loopback = matches!(uri.host(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if loopback => Ok(uri),
        _ => Err(bad(
            "PostWebhook",
            "the webhook URL must be https:// (http:// only to loopback)".into(),
        )),
    }
}

impl AwsAccount {
    /// The Slack webhook, its URL in the Secrets Manager secret `secret_id`.
    pub fn with_slack(
        mut self,
        secrets: aws_sdk_secretsmanager::Client,
        secret_id: Option<String>,
    ) -> Self {
        self.slack = secret_id.map(|id| crate::Slack {
            secrets,
            secret_id: id,
            url: std::sync::Arc::default(),
        });
        self
    }
}

impl Chat for AwsAccount {
    fn chat_enabled(&self) -> bool {
        self.slack.is_some()
    }

    async fn post(&self, notice: &Notice) -> Result<(), PortError> {
        let Some(slack) = &self.slack else {
            return Ok(());
        };
        let url = slack
            .url
            .get_or_try_init(|| async {
                let secret = slack
                    .secrets
                    .get_secret_value()
                    .secret_id(&slack.secret_id)
                    .send()
                    .await
                    .map_err(|e| classify("GetSecretValue", e))?;
                let raw = secret.secret_string.ok_or_else(|| {
                    bad(
                        "PostWebhook",
                        "the webhook secret has no string value".into(),
                    )
                })?;
                // A bare URL, or JSON {"url": "..."} as the console's key/value editor saves it.
                let url = serde_json::from_str::<serde_json::Value>(&raw)
                    .ok()
                    .and_then(|v| v.get("url").and_then(|u| u.as_str()).map(str::to_owned))
                    .unwrap_or(raw);
                check_url(url.trim())?;
                Ok::<String, PortError>(url.trim().to_owned())
            })
            .await?;
        let uri = check_url(url)?;
        let text = format!("*{}*\n```\n{}```", notice.subject, notice.body);
        let body = serde_json::json!({ "text": text }).to_string();
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| bad("PostWebhook", format!("no TLS roots: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
        let request = http::Request::post(uri)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| bad("PostWebhook", e.to_string()))?;
        let response = tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .map_err(|_| PortError::Transient {
                operation: "PostWebhook",
                message: "no answer in 10s".into(),
            })?
            .map_err(|e| PortError::Transient {
                operation: "PostWebhook",
                message: e.to_string(),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        let message = format!(
            "HTTP {status}: {}",
            text.chars().take(200).collect::<String>()
        );
        if status.is_server_error() || status.as_u16() == 429 {
            Err(PortError::Transient {
                operation: "PostWebhook",
                message,
            })
        } else {
            Err(bad("PostWebhook", message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn only_https_leaves_the_machine() {
        assert!(check_url("https://hooks.slack.com/services/T/B/X").is_ok());
        assert!(check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(check_url("http://hooks.slack.com/services/T/B/X").is_err());
        assert!(check_url("not a url").is_err());
    }
}
