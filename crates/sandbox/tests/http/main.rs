//! End-to-end tests of the sandbox over real HTTP on 127.0.0.1.

mod callbacks;
mod control;
mod dreamina;
mod faults;
mod forged_callbacks;
mod google_flow;
mod listing;
mod read_faults;
mod receiver;
mod support;
mod token360;
mod token360_content;
mod video_list;
