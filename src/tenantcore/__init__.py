"""TenantCore: sending mailboxes on customers' own Microsoft 365 tenants."""

__version__ = "0.1.0"
