//! token360 adapter: OpenAI-style video objects by id.
