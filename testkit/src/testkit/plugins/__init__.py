"""pytest plugins; a suite loads the ones it needs in its conftest.py:

pytest_plugins = ["testkit.plugins.isolation", "testkit.plugins.database"]
"""
