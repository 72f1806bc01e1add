//! End-to-end tests of the sandbox over real HTTP on 127.0.0.1.

mod access;
mod callbacks;
mod control;
mod dreamina;
mod faults;
mod forged_callbacks;
mod google_flow;
mod listing;
mod openai_content;
mod openai_python;
mod read_faults;
mod real_clock;
mod receiver;
mod support;
mod token360;
mod token360_content;
mod video_list;
