"""An admin approves a waiting call in the dashboard with Chromium: the agent's page shows its grants, narrowed keys
and the pending call; the approval's page shows what exactly is asked, secrets hidden; one click runs it once."""
from __future__ import annotations

import requests

from test_approvals import P, approving_org, ask, upstream
from test_connect_flow import chromium
from test_dashboard import csrf_of, sign_in


def test_an_admin_approves_a_pending_call_in_chromium(world, output_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    lk, peer = world.lk, world.peer
    org, key, _conn = approving_org(world)
    agent_path = f"{org}/team/proj/agent"
    narrowed = lk.call("POST", "/v1/keys", key, json={"ttl": "10m", "grants": [
        {"provider": P, "methods": ["GET"], "paths": ["/items"]}]}).json()
    before = len(peer.api_log())
    approval = ask(lk, key, "dashboard-item").json()["approval"]
    declined = ask(lk, key, "dashboard-declined-item").json()["approval"]

    driver = chromium()
    driver.set_window_size(1300, 1100)
    wait = WebDriverWait(driver, 15)
    try:
        driver.get(lk.url + "/admin")
        wait.until(EC.presence_of_element_located((By.ID, "login")))
        driver.find_element(By.ID, "admin_key").send_keys(lk.admin_key)
        driver.find_element(By.ID, "sign-in").click()
        wait.until(EC.presence_of_element_located((By.ID, "integrations")))

        # The agent's page: its grants with expiry, its narrowed key, and both waiting calls.
        driver.get(lk.url + f"/admin/agents/{agent_path}")
        wait.until(EC.presence_of_element_located((By.ID, "agent-grants")))
        grants = driver.find_element(By.ID, "agent-grants").text
        assert "POST /items" in grants and "each call" in grants and "never" in grants
        assert narrowed["id"] in driver.find_element(By.ID, "agent-keys").text
        waiting = {row.get_attribute("data-id") for row in driver.find_elements(By.CSS_SELECTOR, "tr.approval")}
        assert waiting == {approval["id"], declined["id"]}
        driver.save_screenshot(str(output_dir / "approvals-01-agent-page.png"))

        # The approvals list links to the page the agent was given.
        driver.get(lk.url + "/admin/approvals")
        wait.until(EC.presence_of_element_located((By.ID, "approvals")))
        driver.find_element(By.CSS_SELECTOR, f'tr.approval[data-id="{approval["id"]}"] a').click()
        wait.until(EC.presence_of_element_located((By.ID, "approval-call")))
        assert driver.current_url == approval["url"]
        details = driver.find_element(By.ID, "approval-call").text
        assert "dashboard-item" in details and "[hidden]" in details and "should-not-show" not in driver.page_source
        assert driver.find_element(By.ID, "approval-state").text == "pending"
        assert driver.find_element(By.ID, "approval-summary").text == f"POST {P} /items"
        driver.save_screenshot(str(output_dir / "approvals-02-pending.png"))
        assert upstream(peer, before) == []

        driver.find_element(By.ID, "approve-button").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "approval-state"), "done"))
        assert "ran and answered 201" in driver.find_element(By.ID, "flash").text
        assert driver.find_element(By.ID, "approval-result").text == "201"
        assert not driver.find_elements(By.ID, "approve-button")
        driver.save_screenshot(str(output_dir / "approvals-03-approved.png"))
        assert upstream(peer, before) == ["POST /api/items"]

        driver.get(declined["url"])
        wait.until(EC.presence_of_element_located((By.ID, "decline-button"))).click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "approval-state"), "declined"))
        driver.save_screenshot(str(output_dir / "approvals-04-declined.png"))
    finally:
        driver.quit()

    got = lk.call("GET", f"/v1/approvals/{approval['id']}", key).json()
    assert got["result"]["body"]["name"] == "dashboard-item" and got["approval"]["decided_by"] == "admin"
    assert lk.call("GET", f"/v1/approvals/{declined['id']}", key).json()["error"]["code"] == "approval_declined"
    assert upstream(peer, before) == ["POST /api/items"]


def test_a_decision_without_the_csrf_token_is_refused_and_the_call_still_waits(world):
    lk, peer = world.lk, world.peer
    _org, key, _conn = approving_org(world)
    before = len(peer.api_log())
    apr = ask(lk, key, "csrf-item").json()["approval"]["id"]
    s = sign_in(lk)
    page = s.get(lk.url + f"/admin/approvals/{apr}", timeout=30)
    assert page.status_code == 200 and 'id="approve-button"' in page.text
    for form in ({"decision": "approve"}, {"decision": "approve", "csrf": "wrong"}):
        r = s.post(lk.url + f"/admin/approvals/{apr}/decide", data=form, allow_redirects=False, timeout=30)
        assert r.status_code == 403 and "csrf_failed" in r.text
    # No session: to the sign-in page.
    r = requests.post(lk.url + f"/admin/approvals/{apr}/decide", data={"decision": "approve"}, allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == "/admin/login"
    assert lk.admin("GET", f"/v1/admin/approvals/{apr}").json()["state"] == "pending"
    assert upstream(peer, before) == []
    # With the token, it runs.
    r = s.post(lk.url + f"/admin/approvals/{apr}/decide", data={"decision": "approve", "csrf": csrf_of(page.text)},
               allow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == f"/admin/approvals/{apr}"
    assert upstream(peer, before) == ["POST /api/items"]
