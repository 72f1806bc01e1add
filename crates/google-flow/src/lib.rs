//! useapi.net Google Flow adapter: job records by id.
