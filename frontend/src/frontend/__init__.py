"""Users web UI."""
