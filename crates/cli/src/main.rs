//! The `genjob` command.
fn main() {}
