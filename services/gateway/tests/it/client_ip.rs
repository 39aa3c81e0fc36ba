//! Which address is the client's, given the peer and X-Forwarded-For.

use std::net::IpAddr;

use actas_gateway::{config::parse_trusted_proxies, extract::client_ip};
use axum::http::{HeaderMap, HeaderValue};

fn ip(text: &str) -> IpAddr {
    text.parse().expect("an IP address")
}

fn forwarded(hops: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for hop in hops {
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_str(hop).expect("a header value"),
        );
    }
    headers
}

#[test]
fn only_trusted_peers_forward_and_only_trusted_hops_are_skipped() {
    let trusted = parse_trusted_proxies("10.0.0.0/8, 192.168.1.7, ::1").unwrap();
    let cases = [
        ("203.0.113.9", vec!["198.51.100.1"], "203.0.113.9"),
        ("10.0.0.5", vec![], "10.0.0.5"),
        ("10.0.0.5", vec!["198.51.100.1"], "198.51.100.1"),
        (
            "10.0.0.5",
            vec!["1.1.1.1, 198.51.100.1, 10.9.9.9"],
            "198.51.100.1",
        ),
        (
            "10.0.0.5",
            vec!["1.1.1.1", "198.51.100.1, 192.168.1.7"],
            "198.51.100.1",
        ),
        ("10.0.0.5", vec!["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
        ("10.0.0.5", vec!["garbage, 198.51.100.1"], "198.51.100.1"),
        ("10.0.0.5", vec!["198.51.100.1, garbage"], "10.0.0.5"),
        ("::1", vec!["2001:db8::7"], "2001:db8::7"),
    ];
    for (peer, hops, client) in cases {
        assert_eq!(
            client_ip(ip(peer), &forwarded(&hops), &trusted),
            ip(client),
            "{peer} {hops:?}"
        );
    }
    assert!(client_ip(ip("10.0.0.5"), &forwarded(&["198.51.100.1"]), &[]) == ip("10.0.0.5"));
}

#[test]
fn trusted_proxies_must_parse() {
    assert!(parse_trusted_proxies("").unwrap().is_empty());
    assert_eq!(parse_trusted_proxies(" 10.0.0.0/8 ,fd00::/8").unwrap().len(), 2);
    let error = parse_trusted_proxies("10.0.0.0/8, proxy.local").unwrap_err();
    assert!(error.to_string().contains("ACTAS_TRUSTED_PROXIES"), "{error}");
}
