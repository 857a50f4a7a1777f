"""Daily send caps enforced inside Exchange Online, and the log of blocks and unblocks."""
