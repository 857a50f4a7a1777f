"""OAuth sending: the customer's own application sends as the mailboxes over SMTP with
XOAUTH2, which keeps working where Basic authentication is turned off."""
