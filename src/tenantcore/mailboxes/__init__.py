"""Shared sending mailboxes: provisioning (at most 3 per domain), caps and daily usage."""
