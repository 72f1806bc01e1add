//! End-to-end tests of `genjob serve`: real servers on 127.0.0.1 (the API, the sandbox, webhook
//! receivers), a SQLite file in a temporary directory.

mod backends;
mod bad_input;
mod common;
mod dashboard;
mod dashboard_store;
mod deliveries;
mod events;
mod fleet;
mod hooks;
mod kill;
mod learned;
mod metrics;
mod openapi;
mod outage;
mod outputs;
mod restart;
mod store;
mod watches;
