//! Every query shape is served by an index: no table scans, no sorts of the table.

use call_store_sqlite::SqliteStore;

#[tokio::test]
async fn every_query_shape_uses_an_index() {
    let db = crate::helpers::temp_db();
    let store = SqliteStore::open(&db.path).await.unwrap();
    let plans = store.query_plans().await.unwrap();
    assert!(plans.len() >= 14, "every shape is checked");
    for (shape, lines) in plans {
        let plan = lines.join(" | ");
        for line in &lines {
            let scans_a_table = (line.starts_with("SCAN calls") || line.starts_with("SCAN events"))
                && !line.contains("USING INDEX")
                && !line.contains("USING COVERING INDEX");
            assert!(!scans_a_table, "{shape}: scans a table: {plan}");
        }
        // A WITHOUT ROWID table's primary key is its index, and a rowid
        // table's integer primary key (the events' `seq`) its B-tree: a bare
        // `SEARCH events` is `max(seq)`, one step down that B-tree.
        // The kept counts and sums hold a row per status, per queue, per
        // agent, kept as calls change: reading them whole is the point.
        let reads_kept_totals = matches!(
            (shape.as_str(), lines[0].as_str()),
            ("count by status", "SCAN call_counts")
                | ("queue totals", "SCAN q")
                | ("agent totals", "SCAN agent_totals")
        );
        let indexed = plan.contains("INDEX")
            || plan.contains("USING PRIMARY KEY")
            || plan.contains("USING INTEGER PRIMARY KEY")
            || plan == "SEARCH events"
            || reads_kept_totals;
        assert!(indexed, "{shape}: uses no index: {plan}");
        if shape == "history" {
            // The partial indexes on when calls took place, not a filter on another.
            for index in ["calls_history_to", "calls_history_from"] {
                assert!(plan.contains(index), "history does not use {index}: {plan}");
            }
        }
    }
}

/// Unique indexes kept for what they forbid, not for a query: one call per
/// occurrence of a series.
const CONSTRAINTS: &[&str] = &["calls_by_occurrence"];

/// Every index a write pays for is there for a query the store runs: each
/// one is named by the plan of at least one shape the check above runs.
#[tokio::test]
async fn every_index_serves_a_query_shape() {
    let db = crate::helpers::temp_db();
    let store = SqliteStore::open(&db.path).await.unwrap();
    let plans = store.query_plans().await.unwrap();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.path.display())).await.unwrap();
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, tbl_name FROM sqlite_master \
         WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' ORDER BY tbl_name, name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(indexes.len() >= 20, "the indexes are read: {indexes:?}");
    let unused: Vec<String> = indexes
        .iter()
        .filter(|(index, _)| !CONSTRAINTS.contains(&index.as_str()))
        .filter(|(index, _)| {
            !plans.iter().any(|(_, lines)| {
                lines.iter().any(|line| {
                    line.contains(&format!("INDEX {index} "))
                        || line.ends_with(&format!("INDEX {index}"))
                })
            })
        })
        .map(|(index, table)| format!("{index} on {table}"))
        .collect();
    assert!(unused.is_empty(), "indexes that serve no query shape the store runs: {unused:?}");
}
