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
        // `call_counts` holds a row per status, at most thirteen, kept as
        // calls change: reading it whole is the point.
        let indexed = plan.contains("INDEX")
            || plan.contains("USING PRIMARY KEY")
            || plan.contains("USING INTEGER PRIMARY KEY")
            || plan == "SEARCH events"
            || (shape == "count by status" && plan == "SCAN call_counts");
        assert!(indexed, "{shape}: uses no index: {plan}");
        if shape == "history" {
            // The partial indexes on when calls took place, not a filter on another.
            for index in ["calls_history_to", "calls_history_from"] {
                assert!(plan.contains(index), "history does not use {index}: {plan}");
            }
        }
    }
}
