//! useapi.net Dreamina adapter: video and image job records and the executing-jobs scheduler.
