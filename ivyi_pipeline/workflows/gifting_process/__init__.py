"""The gifting process: states, events, operations and steps."""
