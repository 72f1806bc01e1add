//! A TCP relay on 127.0.0.1 in front of a real server (PostgreSQL, say) that a test can cut and
//! restore: while cut, every connection through it is closed and new ones are refused.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The relay; it runs until the test's runtime ends.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    up: Arc<watch::Sender<bool>>,
}

impl Relay {
    /// A relay on a free port forwarding to `target` (`host:port`).
    pub async fn start(target: String) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(watch::Sender::new(true));
        let state = up.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = state.subscribe();
                if !*cut.borrow() {
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Ok(Relay { addr, up })
    }

    /// A relay in front of the server a `scheme://user:pass@host:port/…` URL names (port 5432 when
    /// it names none), and that URL with the relay in the server's place.
    pub async fn in_front_of(url: &str) -> std::io::Result<(Relay, String)> {
        let start = url.find("://").map_or(0, |i| i + 3);
        let end = url[start..].find(['/', '?']).map_or(url.len(), |i| start + i);
        let host_start = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
        let host = &url[host_start..end];
        let target = if host.contains(':') { host.to_owned() } else { format!("{host}:5432") };
        let relay = Relay::start(target).await?;
        let relayed = format!("{}{}{}", &url[..host_start], relay.addr, &url[end..]);
        Ok((relay, relayed))
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every connection through it and refuses new ones.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}
