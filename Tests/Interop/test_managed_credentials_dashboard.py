"""An admin reads an org's pool, usage and managed-or-own choices in the dashboard with Chromium, and switches a
choice there: the form is CSRF-checked, the change is audited, and the next call moves to the org's own key."""
from __future__ import annotations

from test_connect_flow import chromium
from test_dashboard import csrf_of, sign_in
from test_managed_credentials import METERED, credential_call, own_key, platform_key, sha


def test_an_admin_reads_and_switches_an_orgs_credentials_in_chromium(world, output_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait

    lk = world.lk
    managed = platform_key(world)
    org, key = world.org_with_agent(apps=())
    assert lk.admin("POST", f"/v1/admin/orgs/{org}/credits", json={"add": 20}).status_code == 200
    for _ in range(4):
        assert credential_call(lk, key).json()["credential_sha256"] == sha(managed)
    own = own_key(world, org)  # the org brings its own key, but its choice still says managed
    assert lk.admin("PUT", f"/v1/admin/orgs/{org}/integrations/{METERED}", json={"credentials": "managed"}).status_code == 200

    # A form posted without the session's CSRF token changes nothing.
    session = sign_in(lk)
    page = session.get(lk.url + f"/admin/orgs/{org}", timeout=30)
    assert page.status_code == 200 and csrf_of(page.text)
    r = session.post(lk.url + f"/admin/orgs/{org}/integrations/{METERED}", data={"credentials": "own", "csrf": "forged"},
                     allow_redirects=False, timeout=30)
    assert r.status_code == 403
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/integrations/{METERED}").json()["choice"] == "managed"

    driver = chromium()
    driver.set_window_size(1300, 1400)
    wait = WebDriverWait(driver, 15)
    try:
        driver.get(lk.url + "/admin")
        wait.until(EC.presence_of_element_located((By.ID, "login")))
        driver.find_element(By.ID, "admin_key").send_keys(lk.admin_key)
        driver.find_element(By.ID, "sign-in").click()
        wait.until(EC.presence_of_element_located((By.ID, "integrations")))
        # The integrations list says, per org, whose credentials each provider uses.
        row = driver.find_element(By.CSS_SELECTOR, f'tr.integration[data-provider="{METERED}"] .credentials')
        assert "managed by the platform" in row.text or "more" in row.text

        driver.find_element(By.LINK_TEXT, "Orgs").click()
        wait.until(EC.presence_of_element_located((By.ID, "orgs")))
        driver.find_element(By.CSS_SELECTOR, f'tr.org[data-org="{org}"] a').click()
        wait.until(EC.presence_of_element_located((By.ID, "org-usage")))
        assert driver.find_element(By.ID, "org-balance").text.startswith("16")
        usage = driver.find_elements(By.CSS_SELECTOR, "#org-usage tr.usage")
        assert [(u.find_element(By.CSS_SELECTOR, ".credentials").text, u.find_element(By.CSS_SELECTOR, ".calls").text,
                 u.find_element(By.CSS_SELECTOR, ".credits").text) for u in usage] == [("managed by the platform", "4", "4")]
        bars = driver.find_elements(By.CSS_SELECTOR, "#usage-chart rect.ok")
        assert len(bars) == 1  # one day with managed calls: today
        choice = driver.find_element(By.CSS_SELECTOR, f'tr.choice[data-provider="{METERED}"]')
        assert choice.find_element(By.CSS_SELECTOR, ".uses").text == "managed by the platform"
        driver.save_screenshot(str(output_dir / "managed-01-org-page.png"))

        Select(choice.find_element(By.NAME, "credentials")).select_by_value("own")
        choice.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(EC.presence_of_element_located((By.ID, "flash")))
        assert "own key" in driver.find_element(By.ID, "flash").text
        choice = driver.find_element(By.CSS_SELECTOR, f'tr.choice[data-provider="{METERED}"]')
        assert choice.find_element(By.CSS_SELECTOR, ".uses").text == "own key"
        driver.save_screenshot(str(output_dir / "managed-02-switched.png"))

        # The integration's Dashboard tab shows the org on its own key now.
        driver.get(lk.url + f"/admin/integrations/{METERED}")
        wait.until(EC.presence_of_element_located((By.ID, "org-credentials")))
        shown = driver.find_element(By.CSS_SELECTOR, f'tr.org-credentials[data-org="{org}"]')
        assert shown.find_element(By.CSS_SELECTOR, ".uses").text == "own key" and "an admin" in shown.text
        driver.save_screenshot(str(output_dir / "managed-03-integration-tab.png"))
    finally:
        driver.quit()

    # The next call carries the org's own key and draws nothing; the change is in the audit log.
    assert credential_call(lk, key).json()["credential_sha256"] == sha(own)
    assert lk.admin("GET", f"/v1/admin/orgs/{org}/credits").json()["balance"] == 16
    events = lk.admin("GET", "/v1/admin/audit", params={"action": "org.credentials_chosen", "owner": f"org:{org}"}).json()["events"]
    assert [e["detail"] for e in events] == ["own", "managed"]
