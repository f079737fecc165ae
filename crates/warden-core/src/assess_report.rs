//! The assessment written out (`warden assess`): text for people, JSON for machines, and
//! one self-contained HTML page a security team can attach to an audit (a summary table
//! and the findings; no script, no external resource).

use std::fmt::Write as _;

use crate::assess::{Assessment, Finding, Severity, CHECKS};

/// The failed findings first (by severity), then the passed; the informational last.
fn ordered(a: &Assessment) -> Vec<&Finding> {
    let mut f: Vec<&Finding> = a.findings.iter().collect();
    f.sort_by_key(|f| {
        (
            f.check.severity == Severity::Informational,
            f.passed,
            f.check.severity,
            f.check.id,
            f.resource.clone(),
        )
    });
    f
}

fn ids(f: &Finding) -> String {
    let mut out = Vec::new();
    if let Some(c) = f.check.cis {
        out.push(format!("CIS {c}"));
    }
    if let Some(s) = f.check.security_hub {
        out.push(format!("Security Hub {s}"));
    }
    out.join(", ")
}

fn percent(part: usize, whole: usize) -> String {
    match (part * 100).checked_div(whole) {
        Some(p) => format!("{p}%"),
        None => "-".into(),
    }
}

/// The text report.
pub fn text(a: &Assessment) -> String {
    let s = a.summary();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "IAM assessment of account {} ({}), {}",
        a.account,
        a.benchmark,
        a.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(
        out,
        "Checks passed: {}/{} ({}); resource evaluations passed: {}/{} ({})",
        s.checks_passed,
        s.checks_evaluated,
        percent(s.checks_passed, s.checks_evaluated),
        s.passed,
        s.evaluations,
        percent(s.passed, s.evaluations)
    );
    let counts: Vec<String> = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ]
    .iter()
    .map(|sev| {
        format!(
            "{} {}",
            sev.as_str(),
            s.failed.get(sev).copied().unwrap_or(0)
        )
    })
    .collect();
    let _ = writeln!(out, "Failed by severity: {}\n", counts.join(", "));
    let mut last: Option<(bool, bool)> = None;
    for f in ordered(a) {
        let group = (f.check.severity == Severity::Informational, f.passed);
        if last != Some(group) {
            let title = match group {
                (true, _) => "iam-warden",
                (false, false) => "FAILED",
                (false, true) => "Passed",
            };
            let _ = writeln!(out, "== {title} ==");
            last = Some(group);
        }
        let mark = match group {
            (true, _) => "INFO",
            (false, false) => f.check.severity.as_str(),
            (false, true) => "ok",
        };
        let _ = writeln!(out, "[{mark}] {} ({})", f.check.title, ids(f));
        let _ = writeln!(out, "    resource:    {}", f.resource);
        let _ = writeln!(out, "    evidence:    {}", f.evidence);
        if !f.passed || group.0 {
            let _ = writeln!(out, "    remediation: {}", f.check.remediation);
        }
    }
    out
}

/// The JSON report: the summary, the checks and the findings.
pub fn json(a: &Assessment) -> serde_json::Value {
    serde_json::json!({
        "account": a.account,
        "generated_at": a.generated_at,
        "benchmark": a.benchmark,
        "summary": a.summary(),
        "checks": CHECKS,
        "findings": a.findings.iter().map(|f| serde_json::json!({
            "check": f.check.id,
            "title": f.check.title,
            "severity": f.check.severity,
            "cis": f.check.cis,
            "security_hub": f.check.security_hub,
            "resource": f.resource,
            "passed": f.passed,
            "evidence": f.evidence,
            "remediation": f.check.remediation,
        })).collect::<Vec<_>>(),
    })
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML page: self-contained (inline style, no script, nothing fetched).
pub fn html(a: &Assessment) -> String {
    let s = a.summary();
    let mut out = String::new();
    let title = format!("IAM assessment of account {}", a.account);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>{}</title><style>\
         body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}\
         .CRITICAL{{background:#f8d7da}}.HIGH{{background:#fde2c8}}.MEDIUM{{background:#fff3cd}}.LOW{{background:#e2e3e5}}\
         .passed{{background:#d1e7dd}}.INFORMATIONAL{{background:#cfe2ff}}\
         </style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(
        out,
        "<p>{} · generated {} by iam-warden</p>",
        esc(a.benchmark),
        a.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(out, "<h2>Summary</h2>\n<table id=\"summary\">");
    let _ = writeln!(
        out,
        "<tr><th>Checks passed</th><td>{}/{} ({})</td></tr>",
        s.checks_passed,
        s.checks_evaluated,
        percent(s.checks_passed, s.checks_evaluated)
    );
    let _ = writeln!(
        out,
        "<tr><th>Resource evaluations passed</th><td>{}/{} ({})</td></tr>",
        s.passed,
        s.evaluations,
        percent(s.passed, s.evaluations)
    );
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let _ = writeln!(
            out,
            "<tr class=\"{0}\"><th>Failed, {0}</th><td>{1}</td></tr>",
            sev.as_str(),
            s.failed.get(&sev).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(out, "</table>\n<h2>Findings</h2>\n<table id=\"findings\">");
    let _ = writeln!(
        out,
        "<tr><th>Result</th><th>Severity</th><th>Check</th><th>CIS v3.0.0</th><th>Security Hub</th><th>Resource</th><th>Evidence</th><th>Remediation</th></tr>"
    );
    for f in ordered(a) {
        let (class, result) = match (f.check.severity, f.passed) {
            (Severity::Informational, _) => ("INFORMATIONAL", "info"),
            (_, true) => ("passed", "passed"),
            (sev, false) => (sev.as_str(), "FAILED"),
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td>{result}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.check.severity.as_str(),
            esc(f.check.title),
            esc(f.check.cis.unwrap_or("-")),
            esc(f.check.security_hub.unwrap_or("-")),
            esc(&f.resource),
            esc(&f.evidence),
            esc(f.check.remediation),
        );
    }
    let _ = writeln!(out, "</table>\n</body></html>");
    out
}
