"""The Microsoft 365 sandbox: a faithful emulator of the Microsoft endpoints TenantCore uses.

It is a product feature (the default back end), not a test helper. It never imports the
connector or any product package; the two sides meet only on the wire.
"""
