"""The contract shared by gateway, workers and CLI: settings, queue names, payloads, keys."""
