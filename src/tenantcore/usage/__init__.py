"""Usage sync: message trace per tenant → sends_today, blocks and unblocks."""
