//! The genjob command end to end: the built binary against servers on 127.0.0.1, one test binary for all.

mod api_boundaries;
mod callbacks;
mod common;
mod demo;
mod downloads;
mod exit_codes;
mod forward_compatible;
mod hostile;
mod hostile_input;
mod hostile_machine;
mod learning;
mod normalize;
mod output_safety;
mod record_verdicts;
mod secrets;
mod serve;
mod watching;
