"""The Microsoft 365 connector: the one way TenantCore talks to Microsoft, live or sandbox."""
