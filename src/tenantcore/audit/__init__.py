"""The audit log: every change asked of the API, by which key, with what outcome."""
