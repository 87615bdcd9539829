//! A TCP proxy on 127.0.0.1 that forwards to a server and can be switched
//! off (connections refused, open ones cut) and on again at the same port,
//! to show a store (or a whole server over it) failing fast while its
//! database is away, and recovering without being rebuilt.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use auth_core::testkit::proxy::Proxy;
//! let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await?;
//! // ... connect a store to proxy.addr() ...
//! proxy.down().await; // the database is gone
//! proxy.up().await?;  // and back, on the same port
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

/// The proxy: while up, it accepts on `addr` and forwards to `target`.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    target: SocketAddr,
    /// The accept loop, and each connection's forwarding task, while up.
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Starts forwarding from an ephemeral local port to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let proxy = Self {
            addr: listener.local_addr()?,
            target,
            tasks: Arc::default(),
        };
        proxy.serve(listener).await;
        Ok(proxy)
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn serve(&self, listener: TcpListener) {
        let target = self.target;
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let forward = tokio::spawn(forward(client, target));
                tasks.lock().await.push(forward);
            }
        });
        self.tasks.lock().await.push(accept);
    }

    /// Stops listening and cuts every open connection.
    pub async fn down(&self) {
        for task in self.tasks.lock().await.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn up(&self) -> std::io::Result<()> {
        let listener = TcpListener::bind(self.addr).await?;
        self.serve(listener).await;
        Ok(())
    }
}

async fn forward(mut client: TcpStream, target: SocketAddr) {
    if let Ok(mut server) = TcpStream::connect(target).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
