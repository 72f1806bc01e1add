//! Integration tests of genjob-transport against real HTTP servers on 127.0.0.1.

mod common;
mod download;
mod get_json;
mod secrets;
