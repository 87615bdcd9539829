//! `GET /metrics`: Prometheus text whose counters move as a scripted
//! session logs in, fails, gets throttled and refreshes, on both
//! frameworks.
//!
//! One test in this binary: the `metrics` facade has one recorder per
//! process, so the counters add up across the two servers.

use std::collections::BTreeMap;
use std::time::Duration;

use auth_demo::{Framework, Secret, Settings};

mod common;
use common::send;

/// A sample's name and its labels (`k="v"` pairs, sorted, comma-joined).
type Series = (String, String);

/// Parses the Prometheus text exposition format strictly enough to catch a
/// malformed body: `# HELP`/`# TYPE` comments, then `name{labels} value`
/// lines with a valid metric name, quoted label values and a float value.
fn parse_prometheus(text: &str) -> BTreeMap<Series, f64> {
    fn valid_name(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    let mut samples = BTreeMap::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                assert!(valid_name(words[1]), "bad name in {line:?}");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&words[2]),
                    "bad type in {line:?}"
                );
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                let mut labels = Vec::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
                    assert!(valid_name(key), "bad label name in {line:?}");
                    let mut value = String::new();
                    let mut chars = after.char_indices();
                    let end = loop {
                        match chars.next().expect("label value closed") {
                            (_, '\\') => value.push(chars.next().expect("escape").1),
                            (i, '"') => break i,
                            (_, c) => value.push(c),
                        }
                    };
                    labels.push(format!("{key}={value}"));
                    rest = after[end + 1..].trim_start_matches(',');
                }
                labels.sort();
                (name, labels.join(","))
            }
            None => (series, String::new()),
        };
        assert!(valid_name(name), "bad metric name in {line:?}");
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

/// The value of `name` with exactly `labels` (sorted `k=v`, comma-joined),
/// 0 when absent.
fn value(samples: &BTreeMap<Series, f64>, name: &str, labels: &str) -> f64 {
    samples
        .get(&(name.to_owned(), labels.to_owned()))
        .copied()
        .unwrap_or(0.0)
}

/// The string value of `field` in a JSON body.
fn field(body: &str, field: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    json[field].as_str().unwrap().to_owned()
}

async fn scrape(addr: std::net::SocketAddr) -> BTreeMap<Series, f64> {
    let (status, body) = send(addr, "GET", "/metrics", None, None).await;
    assert_eq!(status, 200, "{body}");
    parse_prometheus(&body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_logins_failures_throttling_and_refreshes() {
    let password = "Kettle-Orbit-42-metrics";
    for framework in [Framework::Axum, Framework::Actix] {
        let settings = Settings {
            bind: "127.0.0.1:0".into(),
            database_url: Secret::new("sqlite::memory:"),
            framework,
            quiet: true,
            login_throttle: "2/min,20/min".parse().unwrap(),
            ..Settings::default()
        };
        let server = auth_demo::start(&settings).await.unwrap();
        let addr = server.local_addr();
        let username = format!("counted_{framework}");
        server
            .auth()
            .create_superuser(&username, &format!("{username}@example.com"), password)
            .await
            .unwrap();
        let before = scrape(addr).await;

        let login = format!(r#"{{"username": "{username}", "password": "{password}"}}"#);
        let (status, body) = send(addr, "POST", "/api/auth/jwt/create", None, Some(&login)).await;
        assert_eq!(status, 200, "{body}");
        let refresh = field(&body, "refresh");
        let access = field(&body, "access");
        let (status, _) = send(
            addr,
            "GET",
            "/api/auth/me",
            Some(&format!("Bearer {access}")),
            None,
        )
        .await;
        assert_eq!(status, 200);

        let wrong = format!(r#"{{"username": "{username}", "password": "not it"}}"#);
        for expected in [401, 401, 429] {
            let (status, body) =
                send(addr, "POST", "/api/auth/jwt/create", None, Some(&wrong)).await;
            assert_eq!(status, expected, "{body}");
        }
        let refresh_body = format!(r#"{{"refresh": "{refresh}"}}"#);
        let (status, body) = send(
            addr,
            "POST",
            "/api/auth/jwt/refresh",
            None,
            Some(&refresh_body),
        )
        .await;
        assert_eq!(status, 200, "{body}");

        let after = scrape(addr).await;
        let moved =
            |name: &str, labels: &str| value(&after, name, labels) - value(&before, name, labels);
        assert_eq!(moved("auth_logins_total", "kind=jwt"), 1.0, "{framework}");
        assert_eq!(
            moved(
                "auth_login_failures_total",
                "kind=jwt,reason=wrong_password"
            ),
            2.0,
            "{framework}"
        );
        assert_eq!(
            moved("auth_throttled_requests_total", "scope=login_account"),
            1.0,
            "{framework}"
        );
        assert_eq!(
            moved("auth_tokens_issued_total", "kind=jwt"),
            1.0,
            "{framework}"
        );
        assert_eq!(moved("auth_tokens_refreshed_total", ""), 1.0, "{framework}");
        // Three verifications ran (one login, two failures); the throttled
        // attempt hashed nothing.
        assert_eq!(
            moved("auth_hashing_wait_seconds_count", ""),
            3.0,
            "{framework}"
        );
        assert!(
            after.contains_key(&("auth_hashing_queue_depth".to_owned(), String::new())),
            "{framework}: no queue depth gauge"
        );
        assert_eq!(value(&after, "auth_hashing_queue_depth", ""), 0.0);

        tokio::time::timeout(Duration::from_secs(5), server.shutdown())
            .await
            .expect("stopped within 5 s")
            .unwrap();
    }
}

#[test]
fn the_parser_refuses_malformed_text() {
    let ok = parse_prometheus("# TYPE a_total counter\na_total{k=\"v\\\"x\",j=\"w\"} 3\nb 1.5\n");
    assert_eq!(value(&ok, "a_total", "j=w,k=v\"x"), 3.0);
    assert_eq!(value(&ok, "b", ""), 1.5);
    for bad in ["9bad 1", "a{k=v} 1", "a nan-ish", "# TYPE a widget"] {
        assert!(
            std::panic::catch_unwind(|| parse_prometheus(bad)).is_err(),
            "{bad:?} parsed"
        );
    }
}
