//! Wait for AI media-generation jobs: adaptive polling, batch watching and downloads across providers.
