"""The PostgreSQL test server's fixtures (tests/support/postgres.py) for the tests in this folder.

Once tests/conftest.py lists "tests.support.postgres" in `pytest_plugins`, every folder has
them and this file goes.
"""

from tests.support.postgres import postgres_database, postgres_server

__all__ = ["postgres_database", "postgres_server"]
