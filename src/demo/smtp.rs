//! The demo's outgoing mail server: banner, EHLO and QUIT, enough for the crate's
//! own probe without credentials (it never sends a message).

use super::{Mode, hang, read_line};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Serves one connection in `mode`.
pub(crate) async fn handle(stream: TcpStream, mode: Mode, modes: watch::Receiver<Mode>) {
    if mode == Mode::Hang {
        return hang(stream, modes).await;
    }
    let mut conn = BufReader::new(stream);
    if conn
        .get_mut()
        .write_all(b"220 smtp.demo.test ESMTP ready\r\n")
        .await
        .is_err()
    {
        return;
    }
    for _ in 0..20 {
        let Some(line) = read_line(&mut conn).await else {
            return;
        };
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-smtp.demo.test\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" | "RSET" => b"250 OK\r\n",
            "QUIT" => {
                let _ = conn.get_mut().write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 command not implemented here\r\n",
        };
        if conn.get_mut().write_all(reply).await.is_err() {
            return;
        }
    }
}
