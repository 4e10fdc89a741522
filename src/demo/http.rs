//! The demo's hosting site: an HTTP/1.1 server that answers every request with a
//! small page, or accepts and never answers while the scenario says it hangs.

use super::{Mode, hang, read_line};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The text the demo's `[[http]]` probe expects in the body.
pub(crate) const BODY_MARK: &str = "Demo Hosting";

/// Serves one connection in `mode`.
pub(crate) async fn handle(stream: TcpStream, mode: Mode, modes: watch::Receiver<Mode>) {
    if mode == Mode::Hang {
        return hang(stream, modes).await;
    }
    let mut conn = BufReader::new(stream);
    // The request head: read (bounded) and ignored, up to the empty line.
    for _ in 0..100 {
        match read_line(&mut conn).await {
            Some(line) if !line.trim().is_empty() => {}
            Some(_) => break,
            None => return,
        }
    }
    let body = format!(
        "<!doctype html><title>{BODY_MARK}</title><h1>{BODY_MARK}</h1><p>The shop is open.</p>\n"
    );
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.get_mut().write_all(reply.as_bytes()).await;
    let _ = conn.get_mut().shutdown().await;
}
