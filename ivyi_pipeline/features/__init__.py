"""Single-domain features the gifting process coordinates."""
