"""Output for people: plots (and, later, audio)."""
