//! A TCP forwarder between the browser and the server that can be cut and restored: the network between them goes
//! down (open streams are cut, new connections refused) while the server keeps running and publishing, so that
//! what it published meanwhile must come back through replay.

use std::sync::Arc;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards `127.0.0.1:port` to a server while up.
pub struct Link {
    port: u16,
    target: String,
    up: Arc<watch::Sender<bool>>,
    task: Option<JoinHandle<()>>,
}

impl Link {
    /// Listens on a free port and forwards every connection to `target` (`127.0.0.1:PORT`).
    pub async fn up(target: &str) -> Self {
        let (up, _) = watch::channel(true);
        let mut link = Self { port: crate::free_port(), target: target.to_owned(), up: Arc::new(up), task: None };
        link.listen().await;
        link
    }

    /// The address the browser uses: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Cuts every forwarded connection and stops listening: the server is unreachable.
    pub fn cut(&mut self) {
        self.up.send_replace(false);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        self.up.send_replace(true);
        self.listen().await;
    }

    async fn listen(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("bind the link's port");
        let (target, up) = (self.target.clone(), self.up.clone());
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (target, mut down) = (target.clone(), up.subscribe());
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        }));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.cut();
    }
}
