"""Custom domains registered on a tenant: verification and DNS health."""
