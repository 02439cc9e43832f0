"""README's role table and the URL configuration agree: every endpoint has a row, every row an
endpoint. The README is the source of truth a reader sees; this test keeps it complete, and
tests/reliability/test_authorization_matrix.py checks every cell of it against the API.
"""

from tests.authz import PUBLIC, api_endpoints, role_table


def test_every_api_endpoint_has_a_row() -> None:
    missing = api_endpoints() - set(role_table())
    assert not missing, f"endpoints missing from README's role table: {sorted(missing)}"
    stale = set(role_table()) - api_endpoints()
    assert not stale, f"rows for endpoints that do not exist: {sorted(stale)}"


def test_public_endpoints_are_outside_the_table() -> None:
    assert not PUBLIC & set(role_table())
    assert not PUBLIC & api_endpoints()
