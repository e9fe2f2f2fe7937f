"""Fixtures every test directory shares come from plugins (tests/plugins/), registered
here once; a directory's own conftest.py holds only the fixtures of that directory, and
no module imports from a conftest."""

pytest_plugins = [
    "tests.plugins.markers",
    "tests.plugins.database",
    "tests.plugins.committed",
    "tests.plugins.stripe_standin",
    "tests.plugins.rate_limits",
    "tests.plugins.catalogues",
]
