//! End-to-end tests of the sandbox over real HTTP on 127.0.0.1.

mod control;
mod dreamina;
mod faults;
mod google_flow;
mod listing;
mod read_faults;
mod support;
mod token360;
mod token360_content;
mod video_list;
