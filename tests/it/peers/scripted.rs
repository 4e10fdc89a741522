//! An in-process line-protocol server for what real servers will not do: garbage,
//! floods, hangs, resets, bytes pipelined after STARTTLS. It sends a greeting, then
//! answers each line the client sends with what a plain function decides.

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does after the greeting or in answer to a line.
#[derive(Debug)]
pub(crate) enum Act {
    /// Sends these bytes and reads on.
    Say(Vec<u8>),
    /// Sends these bytes, then goes silent with the connection open.
    SayAndHang(Vec<u8>),
    /// Sends these bytes, then closes the connection (FIN).
    SayAndClose(Vec<u8>),
    /// Sends these bytes over and over, for ever.
    Flood(Vec<u8>),
    /// Resets the connection (RST, not FIN).
    Reset,
}

/// `text` to send.
pub(crate) fn say(text: &str) -> Act {
    Act::Say(text.as_bytes().to_vec())
}

/// A server on 127.0.0.1 that greets with `greeting` and answers each line (without
/// its CRLF) with `respond(line)`.
pub(crate) async fn serve(greeting: Act, respond: fn(&str) -> Act) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let greeting = std::sync::Arc::new(greeting);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let greeting = greeting.clone();
            tokio::spawn(async move {
                let mut stream = stream;
                if act(&mut stream, &greeting).await.is_err() {
                    return;
                }
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    while let Some(i) = buf.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=i).collect();
                        let line = String::from_utf8_lossy(&line);
                        let reply = respond(line.trim_end_matches(['\r', '\n']));
                        if act(&mut stream, &reply).await.is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    addr
}

/// Does `what`; `Err` when the connection is over (reset, closed, or hung).
async fn act(stream: &mut TcpStream, what: &Act) -> Result<(), ()> {
    match what {
        Act::Say(bytes) => stream.write_all(bytes).await.map_err(|_| ()),
        Act::SayAndHang(bytes) => {
            let _ = stream.write_all(bytes).await;
            std::future::pending::<()>().await;
            Err(())
        }
        Act::SayAndClose(bytes) => {
            let _ = stream.write_all(bytes).await;
            let _ = stream.shutdown().await;
            Err(())
        }
        Act::Flood(bytes) => {
            while stream.write_all(bytes).await.is_ok() {}
            Err(())
        }
        Act::Reset => {
            stream.set_zero_linger().unwrap();
            Err(())
        }
    }
}
