"""Runs last: after every flow above, no secret reached Latchkey's database or its log."""

from conftest import CLIENT_SECRETS


def test_no_token_client_secret_or_admin_key_is_in_the_database_or_the_log(world):
    issued = world.peer.issued()
    assert len(issued) > 20  # the flows above really ran against this provider
    raw = world.lk.db_bytes()
    log = world.lk.log_path.read_bytes()
    secrets = [t.encode() for t in issued] + [s.encode() for s in CLIENT_SECRETS.values()] + [world.lk.admin_key.encode()]
    for secret in secrets:
        assert secret not in raw
        assert secret not in log
    # Request logs carry paths without queries, so no authorization code or state appears, and connect-link
    # tokens are shortened.
    import re
    paths = re.findall(rb"path=(\S+)", log)
    assert paths and not [p for p in paths if b"?" in p]
    assert not re.search(rb"/connect/cs_[A-Za-z0-9_-]{20,}", log)
