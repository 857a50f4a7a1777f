"""Accounts (TenantCore's customers) and the API keys that resolve to them."""
