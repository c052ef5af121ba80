//! Rebuilds the crate when a migration is added or changed.

fn main() {
    // sqlx::migrate! embeds the files at build time; rebuild when one is added or changed.
    println!("cargo:rerun-if-changed=migrations");
}
