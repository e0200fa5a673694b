"""People have an identity in Latchkey, and their connections are theirs (issue 11, findings 3 and 5).

A person signs in at /me (here with an admin's single-use sign-in link: the embedded default has no identity
provider), and only that person can finish a link made for them or let an agent use their connection.
"""

from __future__ import annotations

from urllib.parse import urljoin

import requests

from conftest import Person, api_instant, wait_past


def add_people(world, org: str, *ids: str):
    for uid in ids:
        r = world.lk.admin("POST", "/v1/admin/users", json={"org": org, "id": uid, "email": f"{uid}@example.com"})
        assert r.status_code == 201, r.text


def new_sign_in_link(world, org: str, uid: str) -> dict:
    """An admin's sign-in link for user:ORG/UID: its `url` and `expires_at`."""
    r = world.lk.admin("POST", f"/v1/admin/users/{org}/{uid}/sign-in-links")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["url"].startswith(world.lk.url + "/me/sign-in/si_") and body["expires_at"]
    return body


def sign_in_link(world, org: str, uid: str) -> str:
    return new_sign_in_link(world, org, uid)["url"]


def signed_in(world, org: str, uid: str) -> requests.Session:
    """A browser signed in at /me as user:ORG/UID, through an admin's sign-in link."""
    s = requests.Session()
    url = sign_in_link(world, org, uid)
    assert s.get(url, timeout=30).status_code == 200
    r = s.post(url, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/me", r.text[:300]
    assert f"user:{org}/{uid}" in s.get(world.lk.url + "/me", timeout=30).text
    return s


def csrf(page_html: str) -> str:
    return page_html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def error_code(page) -> str:
    return page.text.split('id="error-code">', 1)[1].split("<", 1)[0] if 'id="error-code">' in page.text else ""


def person_connects(world, browser: requests.Session, link: str, username: str = "alice") -> requests.Response:
    p = Person(world.peer)
    p.session = browser
    return p.connect(link, username=username, password=f"{username}-password")


def stored(world, owner: str) -> list:
    return world.lk.admin("GET", f"/v1/admin/connections?owner={owner}").json()["connections"]


# Finding 3: a person's link was anyone's.

def test_a_link_for_a_person_completes_only_for_that_signed_in_person(world):
    lk = world.lk
    org, _ = world.org_with_agent()
    add_people(world, org, "alice", "bob")
    r = lk.admin("POST", "/v1/connect-sessions", json={"provider": "authlib-basic", "owner": f"user:{org}/alice"})
    assert r.status_code == 201, r.text
    link = r.json()["url"]

    # Nobody signed in: the connect page sends the browser to sign in first, and comes back to the link.
    r = requests.get(link, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"].startswith("/me/login?")
    assert f"org={org}" in r.headers["Location"]

    # Bob, signed in as himself, cannot use Alice's link at any step; nothing is stored.
    bob = signed_in(world, org, "bob")
    page = bob.get(link, timeout=30)
    assert page.status_code == 403 and error_code(page) == "wrong_person"
    r = bob.post(link + "/start", allow_redirects=False, timeout=30)
    assert r.status_code == 403 and error_code(r) == "wrong_person"
    assert stored(world, f"user:{org}/alice") == []
    events = lk.admin("GET", f"/v1/admin/audit?owner=org:{org}&action=connect.wrong_person").json()["events"]
    assert events and events[0]["actor"] == f"user:{org}/bob" and events[0]["outcome"] == "failure"

    # Alice, signed in, finishes it.
    alice = signed_in(world, org, "alice")
    r = person_connects(world, alice, link)
    assert r.status_code == 200, r.text[:300]
    assert [(c["account"], c["state"]) for c in stored(world, f"user:{org}/alice")] == [("Alice Example", "active")]


def test_a_sign_in_link_works_once_and_only_until_it_expires(short_lived_world):
    world = short_lived_world
    org, _ = world.org_with_agent()
    add_people(world, org, "carol")
    url = sign_in_link(world, org, "carol")
    # Another site's form cannot use it (login CSRF), and that spends nothing.
    r = requests.post(url, headers={"Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site"},
                      allow_redirects=False, timeout=30)
    assert r.status_code == 403 and "lk_person_session" not in r.headers.get("Set-Cookie", "")
    first = requests.Session()
    assert first.post(url, allow_redirects=False, timeout=30).status_code == 303
    again = requests.post(url, allow_redirects=False, timeout=30)
    assert again.status_code == 410 and error_code(again) == "session_used"

    late = new_sign_in_link(world, org, "carol")  # the short-lived world's sign-in links last 2 seconds
    wait_past(api_instant(late["expires_at"]), "the sign-in link to expire")
    r = requests.post(late["url"], allow_redirects=False, timeout=30)
    assert r.status_code == 410 and error_code(r) == "session_expired"


# Finding 5: any agent of the org could use any person's connection.

def test_an_agent_uses_a_persons_connection_only_while_that_person_allows_it(world):
    lk = world.lk
    org, key = world.org_with_agent()
    sibling = world.agent(org, "team", "proj", "sibling")   # same project
    stranger = world.agent(org, "team", "other", "stranger")  # another project
    add_people(world, org, "alice", "bob")
    alice = signed_in(world, org, "alice")
    link = lk.admin("POST", "/v1/connect-sessions", json={"provider": "authlib-basic", "owner": f"user:{org}/alice"}).json()["url"]
    assert person_connects(world, alice, link).status_code == 200
    as_alice = {"Latchkey-User": f"{org}/alice"}

    def call(agent_key):
        return lk.call("GET", "/v1/proxy/authlib-basic/items", agent_key, headers=dict(as_alice))

    r = call(key)
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "consent_required" and r.headers["Latchkey-Error"] == "consent_required"
    consent_url = error["consent_url"]
    assert consent_url.startswith(lk.url + "/me/consent?")
    r = lk.call("POST", "/v1/tools/authlib-basic.list_items/call", key, json={"arguments": {}}, headers=dict(as_alice))
    assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required"

    # Another person cannot decide for Alice.
    bob = signed_in(world, org, "bob")
    page = bob.get(consent_url, timeout=30)
    assert page.status_code == 403 and error_code(page) == "wrong_person"

    # Alice sees who asks, for which connection, and allows this agent only.
    page = alice.get(consent_url, timeout=30)
    assert page.status_code == 200 and f"agent:{org}/team/proj/agent" in page.text and "Alice Example" in page.text
    r = alice.post(lk.url + "/me/consent", data={
        "csrf": csrf(page.text), "agent": f"agent:{org}/team/proj/agent", "grantee": f"agent:{org}/team/proj/agent",
        "connection": consent_url.split("connection=")[1], "decision": "approve"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303, r.text[:300]
    r = call(key)
    assert r.status_code == 200 and r.json()[0]["owner"] == "alice"
    assert call(sibling).status_code == 403  # the grant was for the agent alone

    # The console shows the agent that used the connection, and the grant; withdrawing ends it on the next call.
    console = alice.get(lk.url + "/me", timeout=30).text
    assert f"agent:{org}/team/proj/agent" in console.split('id="connections"', 1)[1].split("</table>", 1)[0]
    connection_id = consent_url.split("connection=")[1]
    r = alice.post(lk.url + "/me/consents/withdraw", data={
        "csrf": csrf(console), "connection": connection_id, "grantee": f"agent:{org}/team/proj/agent"},
        allow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert call(key).status_code == 403

    # A grant to the project reaches every agent of the project, and no other.
    console = alice.get(lk.url + "/me", timeout=30).text
    r = alice.post(lk.url + "/me/consents", data={
        "csrf": csrf(console), "connection": connection_id, "grantee": f"project:{org}/team/proj", "hours": "24"},
        allow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert call(key).status_code == 200 and call(sibling).status_code == 200
    assert call(stranger).status_code == 403

    # A form without the session's CSRF token changes nothing.
    r = alice.post(lk.url + "/me/consents/withdraw", data={"connection": connection_id, "grantee": f"project:{org}/team/proj"},
                   allow_redirects=False, timeout=30)
    assert r.status_code == 403 and error_code(r) == "csrf_failed"
    assert call(key).status_code == 200

    actions = [e["action"] for e in lk.admin("GET", f"/v1/admin/audit?owner=user:{org}/alice&action=consent.").json()["events"]]
    assert actions.count("consent.granted") == 2 and actions.count("consent.withdrawn") == 1


def test_a_person_revokes_their_own_connection_at_me_and_an_admin_cannot_consent_for_them(world):
    lk = world.lk
    org, key = world.org_with_agent()
    add_people(world, org, "dana")
    dana = signed_in(world, org, "dana")
    link = lk.admin("POST", "/v1/connect-sessions", json={"provider": "authlib-basic", "owner": f"user:{org}/dana"}).json()["url"]
    assert person_connects(world, dana, link).status_code == 200
    [c] = stored(world, f"user:{org}/dana")

    # The admin key opens no consent page: consent comes only from the person's own session.
    r = lk.admin("GET", f"/me/consent?agent=agent:{org}/team/proj/agent&connection={c['id']}", allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith("/me/login?")

    console = dana.get(lk.url + "/me", timeout=30).text
    r = dana.post(lk.url + f"/me/connections/{c['id']}/revoke", data={"csrf": csrf(console)}, allow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert [x["state"] for x in stored(world, f"user:{org}/dana")] == ["revoked"]
    page = dana.get(lk.url + "/me", timeout=30).text
    assert "was revoked" in page and c["id"] not in page.split('id="connections"', 1)[1].split("</table>", 1)[0]


def test_a_sign_in_link_in_chromium_works_once_and_not_once_expired(world, short_lived_world, output_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    from test_connect_flow import chromium

    org, _ = world.org_with_agent()
    add_people(world, org, "erin")
    short_org, _ = short_lived_world.org_with_agent()
    add_people(short_lived_world, short_org, "erin")
    driver = chromium()
    wait = WebDriverWait(driver, 20)
    try:
        url = sign_in_link(world, org, "erin")
        driver.get(url)
        driver.find_element(By.ID, "sign-in-button").click()
        wait.until(EC.presence_of_element_located((By.ID, "connections")))
        assert driver.find_element(By.ID, "who").text == f"user:{org}/erin"
        driver.save_screenshot(str(output_dir / "09-me-signed-in-by-link.png"))
        driver.find_element(By.ID, "logout").click()
        wait.until(EC.presence_of_element_located((By.ID, "sign-in")))

        # Single use: the same link, opened again, signs nobody in.
        driver.get(url)
        driver.find_element(By.ID, "sign-in-button").click()
        assert wait.until(EC.presence_of_element_located((By.ID, "error-code"))).text == "session_used"
        driver.get(world.lk.url + "/me")
        assert driver.find_elements(By.ID, "sign-in")

        # Expiry: a link of the short-lived world (2 seconds), opened late.
        late = new_sign_in_link(short_lived_world, short_org, "erin")
        wait_past(api_instant(late["expires_at"]), "the sign-in link to expire")
        driver.get(late["url"])
        driver.find_element(By.ID, "sign-in-button").click()
        assert wait.until(EC.presence_of_element_located((By.ID, "error-code"))).text == "session_expired"
        driver.save_screenshot(str(output_dir / "10-me-expired-sign-in-link.png"))
    finally:
        driver.quit()
