"""The kernel every package may use; it imports nothing from the shell or the domains."""
