use call_store_postgres::{PgOptions, PgStore, testing::TestServer};

/// The test server, or `None` (having said so) when the machine has none.
pub(crate) fn server() -> Option<&'static TestServer> {
    TestServer::shared()
}

/// A store on a new database of `server`.
pub(crate) async fn fresh_store(server: &TestServer) -> (PgStore, String) {
    let url = server.database().await;
    (open(&url).await, url)
}

/// Another store on the database at `url`, as another process would open it.
pub(crate) async fn open(url: &str) -> PgStore {
    PgStore::open_with(url, &PgOptions::max_connections(4)).await.expect("open the store")
}
