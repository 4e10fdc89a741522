//! The demo's mailbox: enough IMAP4rev1 for the crate's own probe (greeting,
//! CAPABILITY, LOGIN, EXAMINE, LOGOUT), in clear text. In [`Mode::RejectLogin`] it
//! answers every LOGIN with `NO`, as a server whose mail storage failed.

use super::{Mode, hang, read_line};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Serves one connection in `mode`; `user` and `password` are the only login accepted.
pub(crate) async fn handle(
    stream: TcpStream,
    mode: Mode,
    modes: watch::Receiver<Mode>,
    user: String,
    password: String,
) {
    if mode == Mode::Hang {
        return hang(stream, modes).await;
    }
    let mut conn = BufReader::new(stream);
    let greeting = "* OK [CAPABILITY IMAP4rev1] mail.demo.test IMAP ready\r\n";
    if conn.get_mut().write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let mut logged_in = false;
    for _ in 0..20 {
        let Some(line) = read_line(&mut conn).await else {
            return;
        };
        let mut words = line.split_whitespace();
        let tag = words.next().unwrap_or("*").to_owned();
        let command = words.next().unwrap_or("").to_ascii_uppercase();
        let reply = match command.as_str() {
            "CAPABILITY" => format!("* CAPABILITY IMAP4rev1\r\n{tag} OK CAPABILITY completed\r\n"),
            "LOGIN" if mode == Mode::RejectLogin => {
                format!("{tag} NO [UNAVAILABLE] mail storage unavailable, try again later\r\n")
            }
            "LOGIN" => {
                let args: Vec<&str> = words.map(|w| w.trim_matches('"')).collect();
                if args == [user.as_str(), password.as_str()] {
                    logged_in = true;
                    format!("{tag} OK LOGIN completed\r\n")
                } else {
                    format!("{tag} NO [AUTHENTICATIONFAILED] invalid credentials\r\n")
                }
            }
            "EXAMINE" if logged_in => format!(
                "* 3 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen)\r\n{tag} OK [READ-ONLY] EXAMINE completed\r\n"
            ),
            "LOGOUT" => {
                let bye = format!("* BYE logging out\r\n{tag} OK LOGOUT completed\r\n");
                let _ = conn.get_mut().write_all(bye.as_bytes()).await;
                return;
            }
            _ => format!("{tag} BAD command not understood here\r\n"),
        };
        if conn.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}
