"""Microsoft 365 tenants connected by an account: consent, discovery, Exchange bootstrap."""
