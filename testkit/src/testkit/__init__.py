"""Test support for the users stack; installed for development only, never in an image.

One module a job:
    procfs        what /proc says about a process (state, parent, start time, CPU, memory)
    waiting       poll a condition with a deadline (never sleep as synchronisation)
    network       free loopback ports, the status of a URL
    environment   the environment a started process gets (the caller's own settings removed)
    processes     a server process: start, wait until it answers, stop, read its log
    project       where the checkout and its scripts are
    mysql         a throwaway MySQL/MariaDB server in a temporary directory
    services      `backend serve`, `backend migrate` and `frontend serve` as processes
    fake_backend  an in-memory users API for the frontend's tests
    pages         reading the HTML the frontend serves
    plugins/      pytest fixtures, loaded by a suite's conftest.py with `pytest_plugins`
"""
