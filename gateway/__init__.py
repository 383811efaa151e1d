"""The thin intake: validates, deduplicates and enqueues; never embeds."""
