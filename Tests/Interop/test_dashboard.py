"""The admin dashboard at /admin: sign-in, the integrations list, an integration's three tabs, actions, audit.

Chromium drives the pages as an admin would; `requests` checks the edges (CSRF, cookies, escaping, redirects).
"""

from __future__ import annotations

import re
import sqlite3

import requests

from conftest import CLIENT_SECRETS, Person
from test_connect_flow import chromium

PROVIDER = "authlib-basic"
SCRIPT = "<script>alert(1)</script>"


def sign_in(lk) -> requests.Session:
    s = requests.Session()
    r = s.post(lk.url + "/admin/login", data={"admin_key": lk.admin_key}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/admin", (r.status_code, r.text[:300])
    return s


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def connect(world, key: str, username: str = "alice") -> dict:
    """A person connects `username`'s account for the agent with `key`; returns the new connection."""
    before = {c["id"] for c in world.connections(key)}
    r = Person(world.peer).connect(world.connect_link(key), username=username, password=f"{username}-password")
    assert r.status_code == 200, r.text[:300]
    return [c for c in world.connections(key) if c["state"] == "active" and c["id"] not in before][-1]


def db_state(lk, connection_id: str) -> str:
    with sqlite3.connect(lk.db_path, timeout=30) as db:
        return db.execute("SELECT state FROM connections WHERE id = ?", (connection_id,)).fetchone()[0]


def proxy_counts(s: requests.Session, lk) -> tuple[int, int]:
    """(errors, calls) from the integration's proxy health line."""
    html = s.get(lk.url + f"/admin/integrations/{PROVIDER}", timeout=30).text
    m = re.search(r'<p id="proxy-health">Proxied calls: (?:no calls|\d+ % errors \((\d+) of (\d+) calls\))</p>', html)
    assert m, html[:2000]
    return int(m.group(1) or 0), int(m.group(2) or 0)


def test_pages_without_a_session_redirect_to_the_sign_in_page(world):
    lk = world.lk
    for method, path in (("GET", "/admin"), ("GET", "/admin/audit"), ("GET", f"/admin/integrations/{PROVIDER}"),
                         ("POST", f"/admin/integrations/{PROVIDER}/connect-link"), ("POST", "/admin/logout")):
        r = requests.request(method, lk.url + path, allow_redirects=False, timeout=30)
        assert r.status_code == 303 and r.headers["Location"] == "/admin/login", (method, path, r.status_code)
    # A made-up cookie is no session either.
    r = requests.get(lk.url + "/admin", cookies={"lk_admin_session": "made-up"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/admin/login"


def test_sign_in_sets_a_strict_http_only_cookie_and_a_wrong_key_is_refused(world):
    lk = world.lk
    r = requests.post(lk.url + "/admin/login", data={"admin_key": "lk_admin_wrong"}, allow_redirects=False, timeout=30)
    assert r.status_code == 401 and 'id="login-error"' in r.text and "set-cookie" not in {k.lower() for k in r.headers}
    r = requests.post(lk.url + "/admin/login", data={"admin_key": lk.admin_key}, allow_redirects=False, timeout=30)
    assert r.status_code == 303
    cookie = r.headers["Set-Cookie"]
    attributes = [a.strip() for a in cookie.split(";")]
    name, value = attributes[0].split("=", 1)
    assert name == "lk_admin_session" and len(value) >= 43  # 256 random bits in base64url
    assert "HttpOnly" in attributes and "SameSite=Strict" in attributes and "Path=/admin" in attributes
    assert "Secure" not in attributes  # the public URL is http here; https adds Secure
    assert lk.admin_key not in cookie and lk.admin_key not in r.text

    s = requests.Session()
    s.cookies.set("lk_admin_session", value)
    page = s.get(lk.url + "/admin", allow_redirects=False, timeout=30)
    assert page.status_code == 200 and 'id="integrations"' in page.text
    assert lk.admin_key not in page.text
    # Sign-out needs the CSRF token too, and ends the session.
    assert s.post(lk.url + "/admin/logout", data={}, allow_redirects=False, timeout=30).status_code == 403
    r = s.post(lk.url + "/admin/logout", data={"csrf": csrf_of(page.text)}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/admin/login"
    s.cookies.set("lk_admin_session", value)
    assert s.get(lk.url + "/admin", allow_redirects=False, timeout=30).status_code == 303


def test_a_form_without_the_right_csrf_token_is_refused_and_changes_nothing(world):
    lk = world.lk
    org, key = world.org_with_agent(apps=(PROVIDER,))
    agent = f"agent:{org}/team/proj/agent"
    c = connect(world, key)
    s = sign_in(lk)
    page = s.get(lk.url + f"/admin/integrations/{PROVIDER}?tab=connections", timeout=30)
    token = csrf_of(page.text)
    actions = [
        (f"/admin/integrations/{PROVIDER}/connections/{c['id']}/revoke", {}),
        (f"/admin/integrations/{PROVIDER}/connections/{c['id']}/refresh", {}),
        (f"/admin/integrations/{PROVIDER}/grants", {"agent": agent, "tool": f"{PROVIDER}.create_item", "do": "grant"}),
        (f"/admin/integrations/{PROVIDER}/rotate-secret", {"owner": f"org:{org}", "client_secret": "stolen"}),
        (f"/admin/integrations/{PROVIDER}/connect-link", {"owner": agent}),
    ]
    audit_before = len(lk.admin("GET", "/v1/admin/audit", params={"owner": f"org:{org}", "limit": 1000}).json()["events"])
    for path, form in actions:
        for csrf in (None, "", "wrong-" + token[6:], token[:-1]):
            data = dict(form) if csrf is None else {**form, "csrf": csrf}
            r = s.post(lk.url + path, data=data, allow_redirects=False, timeout=30)
            assert r.status_code == 403, (path, csrf, r.status_code)
            assert "csrf_failed" in r.text
    assert db_state(lk, c["id"]) == "active"
    assert [x["state"] for x in world.connections(key) if x["id"] == c["id"]] == ["active"]
    assert lk.admin("GET", f"/v1/admin/agents/{org}/team/proj/agent/grants").json()["tools"] == []
    audit_after = len(lk.admin("GET", "/v1/admin/audit", params={"owner": f"org:{org}", "limit": 1000}).json()["events"])
    assert audit_after == audit_before
    # The app still works with its old secret: a forced refresh through the API succeeds.
    assert lk.admin("POST", f"/v1/admin/connections/{c['id']}/refresh").status_code == 200


def test_an_account_name_with_markup_is_shown_as_text(world):
    lk = world.lk
    org, key = world.org_with_agent(apps=(PROVIDER,))
    c = connect(world, key, username="xss")
    assert c["account"] == SCRIPT
    s = sign_in(lk)
    for path in (f"/admin/integrations/{PROVIDER}?tab=connections", f"/admin/integrations/{PROVIDER}?tab=dashboard",
                 "/admin", f"/admin/audit?owner=org:{org}", "/admin?q=" + requests.utils.quote(SCRIPT)):
        html = s.get(lk.url + path, timeout=30).text
        assert "<script" not in html.lower(), path
    html = s.get(lk.url + f"/admin/integrations/{PROVIDER}?tab=connections", timeout=30).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The search box echoes the query escaped, too.
    html = s.get(lk.url + "/admin", params={"q": '"><script>x</script>'}, timeout=30).text
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html


def test_an_admin_uses_the_dashboard_in_chromium(world, output_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    lk = world.lk
    org, key = world.org_with_agent(apps=(PROVIDER,))
    agent = f"agent:{org}/team/proj/agent"
    key2 = world.agent(org, "team", "proj", "helper")
    world.agent(org, "team", "proj", "late")
    mine = connect(world, key, "alice")
    doomed = connect(world, key2, "bob")
    assert lk.admin("POST", f"/v1/admin/connections/{mine['id']}/refresh").status_code == 200
    r = lk.call("POST", f"/v1/tools/{PROVIDER}.create_item/call", key, json={"arguments": {"name": "before"}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "tool_not_granted"

    driver = chromium()
    driver.set_window_size(1300, 1100)
    wait = WebDriverWait(driver, 15)

    def flash(expected: str) -> str:
        """The message of the page after an action, once it says `expected` (the previous page may show one too)."""
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException

        def check(d):
            text = d.find_element(By.ID, "flash").text
            return text if expected in text else False
        # While the next page replaces the last, Chromium may also answer "Node with given id does not belong to the
        # document" (a WebDriverException of its own, seen once in CI): that too means "look again".
        return WebDriverWait(driver, 15, ignored_exceptions=(
            NoSuchElementException, StaleElementReferenceException, WebDriverException)).until(check)

    try:
        driver.get(lk.url + "/admin")
        wait.until(EC.presence_of_element_located((By.ID, "login")))
        driver.save_screenshot(str(output_dir / "dashboard-01-sign-in.png"))
        driver.find_element(By.ID, "admin_key").send_keys(lk.admin_key)
        driver.find_element(By.ID, "sign-in").click()
        wait.until(EC.presence_of_element_located((By.ID, "integrations")))
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.integration")
        assert PROVIDER in {row.get_attribute("data-provider") for row in rows}
        row = driver.find_element(By.CSS_SELECTOR, f'tr.integration[data-provider="{PROVIDER}"]')
        assert "OAuth app registered" in row.find_element(By.CSS_SELECTOR, ".setup").text
        assert "active" in row.find_element(By.CSS_SELECTOR, ".counts").text
        # A forced refresh is a refresh: health shows a rate, not "no refreshes".
        assert "%" in row.find_element(By.CSS_SELECTOR, ".health").text
        driver.save_screenshot(str(output_dir / "dashboard-02-integrations.png"))

        driver.find_element(By.ID, "q").send_keys("authlib-key")
        driver.find_element(By.ID, "q").submit()
        wait.until(EC.url_contains("q=authlib-key"))
        shown = {r.get_attribute("data-provider") for r in driver.find_elements(By.CSS_SELECTOR, "tr.integration")}
        assert shown == {"authlib-key"}
        assert "no app needed" in driver.find_element(By.CSS_SELECTOR, "tr.integration .setup").text

        driver.get(lk.url + "/admin")
        driver.find_element(By.LINK_TEXT, f"Authlib Test Provider ({PROVIDER})").click()
        wait.until(EC.presence_of_element_located((By.ID, "dashboard")))
        assert driver.find_element(By.ID, "refresh-chart").tag_name == "svg"
        linked = driver.find_element(By.ID, "linked-agents").text
        assert agent in linked and f"agent:{org}/team/proj/helper" in linked
        assert f"agent:{org}/team/proj/late" not in linked  # its siblings' connections are not on its chain
        # A connection of the project links every agent below it; under the granted policy, only those with a grant.
        r = lk.admin("POST", "/v1/connect-sessions", json={"provider": PROVIDER, "owner": f"project:{org}/team/proj"})
        assert r.status_code == 201, r.text
        assert Person(world.peer).connect(r.json()["url"]).status_code == 200

        def linked_now() -> str:
            driver.refresh()
            return wait.until(EC.presence_of_element_located((By.ID, "linked-agents"))).text
        assert f"agent:{org}/team/proj/late" in linked_now()
        assert lk.admin("PUT", f"/v1/admin/orgs/{org}/policy", json={"read_tools": "granted", "proxy": "granted"}).status_code == 200
        assert f"agent:{org}/team/proj/late" not in linked_now()
        r = lk.admin("PUT", f"/v1/admin/projects/{org}/team/proj/grants", json={"grants": [{"provider": PROVIDER, "tools": ["list_items"]}]})
        assert r.status_code == 200, r.text
        assert f"agent:{org}/team/proj/late" in linked_now()
        assert lk.admin("PUT", f"/v1/admin/orgs/{org}/policy", json={}).status_code == 200
        assert "connection.connected" in driver.find_element(By.CSS_SELECTOR, "table.events").text
        driver.save_screenshot(str(output_dir / "dashboard-03-tab-dashboard.png"))

        driver.find_element(By.ID, "tab-tools").click()
        wait.until(EC.presence_of_element_located((By.ID, "tools")))
        tools = driver.find_element(By.ID, "tools").text
        assert "create_item" in tools and "write" in tools and "list_items" in tools and "name string (required)" in tools
        driver.save_screenshot(str(output_dir / "dashboard-04-tab-tools.png"))

        driver.find_element(By.ID, "tab-connections").click()
        wait.until(EC.presence_of_element_located((By.ID, "connections")))
        driver.save_screenshot(str(output_dir / "dashboard-05-tab-connections.png"))

        # Revoke the helper's connection.
        driver.find_element(By.CSS_SELECTOR, f'tr.connection[data-id="{doomed["id"]}"] button.revoke').click()
        flash(f"Connection {doomed['id']} is revoked")
        state = driver.find_element(By.CSS_SELECTOR, f'tr.connection[data-id="{doomed["id"]}"] td.state').text
        assert state == "revoked"
        driver.save_screenshot(str(output_dir / "dashboard-06-revoked.png"))
        assert doomed["id"] not in {c["id"] for c in world.connections(key2)}
        assert db_state(lk, doomed["id"]) == "revoked"
        assert db_state(lk, mine["id"]) == "active"

        # Grant the write tool to the agent; it can call it at once.
        form = driver.find_element(By.ID, "grant-form")
        form.find_element(By.NAME, "agent").send_keys(agent)
        Select(form.find_element(By.NAME, "tool")).select_by_value(f"{PROVIDER}.create_item")
        driver.find_element(By.ID, "grant-button").click()
        flash(f"{agent} may now call {PROVIDER}.create_item")
        driver.save_screenshot(str(output_dir / "dashboard-07-granted.png"))
        s = sign_in(lk)
        errors, calls = proxy_counts(s, lk)
        r = lk.call("POST", f"/v1/tools/{PROVIDER}.create_item/call", key, json={"arguments": {"name": "from-dashboard"}})
        assert r.status_code == 200 and r.json()["status"] == 201, r.text
        assert proxy_counts(s, lk) == (errors, calls + 1)
        # A provider 5xx counts as a proxy error.
        world.peer.set_mode(api="unavailable", count=10)
        try:
            r = lk.call("GET", f"/v1/proxy/{PROVIDER}/items", key)
            assert r.status_code == 503, r.text
        finally:
            world.peer.set_mode(api="normal")
        assert proxy_counts(s, lk) == (errors + 1, calls + 2)
        assert lk.admin("GET", f"/v1/admin/agents/{org}/team/proj/agent/grants").json()["tools"] == [f"{PROVIDER}.create_item"]

        # A connect link for the agent, shown in the message.
        form = driver.find_element(By.ID, "connect-link-form")
        form.find_element(By.NAME, "owner").send_keys(agent)
        form.find_element(By.CSS_SELECTOR, "button").click()
        flash(f"Connect link for {agent}: {lk.url}/connect/")

        # The audit view, filtered to this org's admin actions.
        driver.get(lk.url + f"/admin/audit?owner=org:{org}&action=agent.grants_set&outcome=success")
        events = driver.find_elements(By.CSS_SELECTOR, "tr.event")
        assert len(events) == 1 and "agent.grants_set" in events[0].text and "admin" in events[0].text
        driver.get(lk.url + f"/admin/audit?owner=org:{org}")
        actions = driver.find_element(By.CSS_SELECTOR, "table.events").text
        assert "connection.revoked_at_provider" in actions and "connect_session.created" in actions
        driver.save_screenshot(str(output_dir / "dashboard-08-audit.png"))
        driver.get(lk.url + f"/admin/integrations/{PROVIDER}?tab=dashboard")
        assert driver.find_element(By.ID, "proxy-chart").tag_name == "svg"
        assert "errors" in driver.find_element(By.ID, "proxy-health").text
        driver.execute_script("document.getElementById('proxy-health').scrollIntoView()")
        driver.save_screenshot(str(output_dir / "dashboard-09-proxy-health.png"))
    finally:
        driver.quit()

    # Each dashboard action is audited with actor admin.
    events = lk.admin("GET", "/v1/admin/audit", params={"owner": f"org:{org}", "actor": "admin"}).json()["events"]
    assert {"agent.grants_set", "connect_session.created"} <= {e["action"] for e in events}


def flash_after(s: requests.Session, lk, path: str, data: dict) -> str:
    """Posts a dashboard form, follows the redirect back, and returns the page's message."""
    r = s.post(lk.url + path, data=data, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == f"/admin/integrations/{PROVIDER}?tab=connections", r.status_code
    page = s.get(lk.url + r.headers["Location"], timeout=30).text
    return re.search(r'<div id="flash" class="flash( error)?">([^<]*)</div>', page).group(0)


def test_rotating_the_client_secret_changes_what_the_next_refresh_sends(world):
    lk = world.lk
    org, key = world.org_with_agent(apps=(PROVIDER,))
    first = connect(world, key, "alice")
    second = connect(world, world.agent(org, "team", "proj", "helper"), "bob")
    s = sign_in(lk)
    token = csrf_of(s.get(lk.url + f"/admin/integrations/{PROVIDER}?tab=connections", timeout=30).text)
    wrong = "wrong-secret-" + "x" * 20
    base = f"/admin/integrations/{PROVIDER}"

    message = flash_after(s, lk, base + "/rotate-secret", {"csrf": token, "owner": f"org:{org}", "client_secret": wrong})
    assert "was rotated" in message and "error" not in message
    # The provider now refuses Latchkey's client: a forced refresh fails, and the old token stays in use.
    message = flash_after(s, lk, base + f"/connections/{first['id']}/refresh", {"csrf": token})
    assert 'class="flash error"' in message and "forced refresh" in message
    assert db_state(lk, first["id"]) == "active"

    message = flash_after(s, lk, base + "/rotate-secret",
                          {"csrf": token, "owner": f"org:{org}", "client_secret": CLIENT_SECRETS["basic"]})
    assert "was rotated" in message
    message = flash_after(s, lk, base + f"/connections/{second['id']}/refresh", {"csrf": token})
    assert f"Connection {second['id']} was refreshed" in message and "error" not in message

    # An owner without an app is told so; nothing is registered there.
    message = flash_after(s, lk, base + "/rotate-secret", {"csrf": token, "owner": f"team:{org}/team", "client_secret": "s"})
    assert 'class="flash error"' in message and "no authlib-basic app is registered" in message

    events = lk.admin("GET", "/v1/admin/audit", params={"owner": f"org:{org}", "action": "app.secret_rotated"}).json()["events"]
    assert len(events) == 2 and {e["actor"] for e in events} == {"admin"}
    for secret in (wrong, CLIENT_SECRETS["basic"]):
        assert secret not in str(events)
        assert secret not in s.get(lk.url + f"/admin/audit?owner=org:{org}", timeout=30).text
        assert secret not in lk.log_path.read_text()
