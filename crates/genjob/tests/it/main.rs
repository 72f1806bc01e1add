//! The genjob library against real servers on 127.0.0.1 and scripted sources: one test binary for all.

mod callbacks;
mod custom_provider;
mod hostile;
mod learning;
mod watch;
mod watch_properties;
