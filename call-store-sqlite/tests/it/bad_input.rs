//! Opening what is not a usable database: a clear error naming the file,
//! never a panic, never a file changed.

use call_store_sqlite::{OpenError, SqliteStore};

use crate::helpers::temp_db;

#[tokio::test]
async fn a_missing_folder() {
    let db = temp_db();
    let path = db.dir.path().join("no/such/folder/calls.db");
    let error = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(error, OpenError::MissingFolder { .. }), "{error}");
    assert!(error.to_string().contains("no/such/folder"), "{error}");
    assert!(!db.dir.path().join("no").exists(), "nothing created");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_left_untouched() {
    let db = temp_db();
    let text = "name,phone\nAda,+14155550100\n".repeat(200);
    std::fs::write(&db.path, &text).unwrap();
    let error = SqliteStore::open(&db.path).await.unwrap_err();
    assert!(matches!(error, OpenError::NotADatabase { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("cannot open {}: the file is not a SQLite database", db.path.display())
    );
    assert_eq!(std::fs::read_to_string(&db.path).unwrap(), text, "the file is unchanged");
}

#[tokio::test]
async fn a_folder_instead_of_a_file() {
    let db = temp_db();
    let error = SqliteStore::open(db.dir.path()).await.unwrap_err();
    assert!(error.to_string().contains("it is a folder"), "{error}");
}

#[tokio::test]
async fn a_read_only_location() {
    // /proc refuses new files even to root.
    let error = SqliteStore::open("/proc/callwork-test.db").await.unwrap_err();
    assert!(matches!(error, OpenError::Other { .. }), "{error:?}");
    assert!(error.to_string().starts_with("cannot open /proc/callwork-test.db: "), "{error}");
}

#[tokio::test]
async fn a_schema_newer_than_the_code() {
    let db = temp_db();
    drop(SqliteStore::open(&db.path).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    {
        // A later version of callwork applied migration 99.
        use sqlx::Connection;
        let url = format!("sqlite://{}", db.path.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99, 'from the future', TRUE, x'00', 0)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let before = std::fs::read(&db.path).unwrap();
    let error = SqliteStore::open(&db.path).await.unwrap_err();
    let latest =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().count();
    let known = i64::try_from(latest).unwrap();
    assert!(
        matches!(error, OpenError::SchemaTooNew { found: 99, known: k, .. } if k == known),
        "{error:?}"
    );
    assert!(error.to_string().contains("newer than this program knows"), "{error}");
    assert_eq!(std::fs::read(&db.path).unwrap(), before, "the file is unchanged");
}
