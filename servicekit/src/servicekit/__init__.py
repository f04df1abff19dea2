"""What both services of the users stack do to serve, written once."""
