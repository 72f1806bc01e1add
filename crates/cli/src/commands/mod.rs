//! One module per subcommand; each returns the exit code of a run that got to the end.

pub mod executing;
pub mod normalize;
pub mod sandbox;
pub mod serve;
pub mod status;
pub mod wait;
