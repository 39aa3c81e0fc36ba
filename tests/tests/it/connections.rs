//! Clients that hold the gateway's connections without using them: silent
//! ones, ones that trickle headers or a body, and more than the cap. Each
//! test is bounded in count (tens of sockets) and time (seconds), loopback
//! only; the timeouts are short here so the tests are.

use std::time::Duration;

use actas_gateway::serve::ConnectionLimits;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
    time::timeout,
};

use crate::helpers::TestSystem;

/// A generous bound for what should take a second or two: the machine is shared.
const PATIENCE: Duration = Duration::from_secs(20);

/// Reads until the gateway closes the connection; what it sent before.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return seen,
            Ok(read) => seen.extend_from_slice(&buffer[..read]),
        }
    }
}

/// Reads one response to a `GET` with no body (headers and a short body).
async fn one_response(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed before a response");
        seen.extend_from_slice(&buffer[..read]);
    }
    // `/healthz` answers "ok": two bytes after the headers.
    while !String::from_utf8_lossy(&seen).ends_with("ok") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "closed within a response");
        seen.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

const HEALTH: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n";

#[tokio::test]
async fn silent_and_slow_clients_are_closed_and_kept_alive_ones_last_their_idle_time() {
    let system = TestSystem::start_with(|options| {
        options.http_connections = ConnectionLimits {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            max_connections: 1000,
        };
    })
    .await;
    let gateway = system.sandbox().gateway;

    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(gateway).await.unwrap());
    }
    // A header line every 300 ms, never the end of the headers.
    let mut trickling = Vec::new();
    for _ in 0..20 {
        let stream = TcpStream::connect(gateway).await.unwrap();
        trickling.push(tokio::spawn(async move {
            let mut stream = stream;
            stream.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            for line in 0.. {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if stream
                    .write_all(format!("x-slow-{line}: 1\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    return line;
                }
                // The close shows up as a failed write or a read of nothing.
                let mut byte = [0u8; 1];
                if let Ok(Ok(0)) = timeout(Duration::from_millis(1), stream.read(&mut byte)).await {
                    return line;
                }
            }
            unreachable!()
        }));
    }
    // A client that makes one request and keeps the connection.
    let mut kept = TcpStream::connect(gateway).await.unwrap();
    kept.write_all(HEALTH).await.unwrap();
    assert!(one_response(&mut kept).await.starts_with("HTTP/1.1 200"));

    for mut stream in silent {
        let sent = timeout(PATIENCE, until_closed(&mut stream))
            .await
            .expect("a silent connection is closed");
        assert!(sent.is_empty(), "nothing was asked, nothing answered");
    }
    for task in trickling {
        let lines = timeout(PATIENCE, task)
            .await
            .expect("a trickling connection is closed")
            .unwrap();
        // Closed after about a second of headers (3 lines), not left open.
        assert!(lines < 40, "{lines} header lines were read before the close");
    }

    // Past the header timeout, within the idle one, the kept connection
    // still serves; once idle for longer, it is closed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    kept.write_all(HEALTH).await.unwrap();
    assert!(one_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    let after = timeout(PATIENCE, until_closed(&mut kept))
        .await
        .expect("an idle kept-alive connection is closed");
    assert!(after.is_empty());
    system.stop().await;
}

#[tokio::test]
async fn a_body_that_arrives_too_slowly_is_answered_408() {
    let system = TestSystem::start_with(|options| options.http_body_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(system.sandbox().gateway).await.unwrap();
    stream
        .write_all(
            b"POST /api/public/auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let answer = timeout(PATIENCE, until_closed(&mut stream))
        .await
        .expect("the gateway answers and closes");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("FRAMEWORK__REQUEST_TIMEOUT"), "{answer}");
    system.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_to_be_accepted() {
    let system = TestSystem::start_with(|options| {
        options.http_connections = ConnectionLimits {
            header_read_timeout: Duration::from_secs(3),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4,
        };
    })
    .await;
    let gateway = system.sandbox().gateway;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(gateway).await.unwrap());
    }
    // The fifth is in the listen backlog: its request waits, unanswered,
    // until the four silent ones are closed at their header timeout.
    let mut fifth = TcpStream::connect(gateway).await.unwrap();
    fifth.write_all(HEALTH).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        timeout(Duration::from_secs(1), fifth.read(&mut byte))
            .await
            .is_err(),
        "a connection over the cap was served"
    );
    let answer = timeout(PATIENCE, one_response(&mut fifth))
        .await
        .expect("served once the silent ones are closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    for mut stream in held {
        assert!(
            timeout(PATIENCE, until_closed(&mut stream))
                .await
                .unwrap()
                .is_empty()
        );
    }
    system.stop().await;
}
