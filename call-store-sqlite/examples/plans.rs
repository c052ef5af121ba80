//! Prints the query plan of every query shape. Run with: cargo run -p call-store-sqlite --example plans
#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = call_store_sqlite::SqliteStore::open(dir.path().join("x.db")).await.unwrap();
    for (shape, plan) in store.query_plans().await.unwrap() {
        println!("{shape}:");
        for line in plan {
            println!("    {line}");
        }
    }
}
