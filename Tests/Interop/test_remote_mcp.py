"""Remote MCP servers (issue 14), slice by slice. So far: Latchkey's client ID metadata document."""
import requests


def test_latchkey_serves_its_client_id_metadata_document_at_its_own_url(world):
    lk = world.lk
    url = lk.url + "/oauth/client-metadata.json"
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    document = r.json()
    # The document's URL is the client id (the public URL here is the test's own address).
    assert document["client_id"].endswith("/oauth/client-metadata.json")
    assert document["redirect_uris"] == [document["client_uri"] + "/oauth/callback"]
    assert document["client_id"] == document["client_uri"] + "/oauth/client-metadata.json"
    assert (document["grant_types"], document["response_types"], document["token_endpoint_auth_method"]) == (
        ["authorization_code", "refresh_token"], ["code"], "none")
    # It needs no key and carries no secret.
    assert "secret" not in r.text
