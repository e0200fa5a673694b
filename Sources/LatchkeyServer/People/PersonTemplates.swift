/// The person console's Mustache templates (`/me`). Every `{{value}}` is HTML-escaped; the only triple mustache is the
/// page body, rendered from these templates. No script anywhere: plain links and CSRF-checked forms.
enum PersonTemplates {
    /// Every template of the console: its own, and the approval pages it shares with the dashboard.
    static let all = pages.merging(DashboardTemplates.agentPages.filter { ["approval", "approval_rows"].contains($0.key) }) { first, _ in first }

    static let pages: [String: String] = [
        "layout": """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>{{title}} · Latchkey</title>\(DashboardTemplates.style)</head><body>
            {{#signed_in}}<header><strong>Latchkey</strong><a href="/me">Your connections</a><a href="/me/approvals" id="my-approvals">Approvals</a><span class="grow"></span>
            <span id="who">{{who}}</span>
            <form method="post" action="/me/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button id="logout" type="submit">Sign out</button></form></header>{{/signed_in}}
            <main>{{#flash}}<div id="flash" class="flash{{#is_error}} error{{/is_error}}">{{message}}</div>{{/flash}}{{{body}}}</main></body></html>
            """,
        "signin": """
            <div class="card login" id="sign-in"><h1>Sign in</h1>
            <p class="muted">Sign in to see and control your connections, and which agents may use them.</p>
            {{#error}}<div id="sign-in-error" class="flash error">{{error}}</div>{{/error}}
            <form method="get" action="/me/login"><label for="org">Your organization</label>
            <input id="org" name="org" value="{{org}}" required><input type="hidden" name="next" value="{{next}}">
            <button id="sign-in-button" type="submit">Continue</button></form>
            <p class="muted">No single sign-on in your organization? Ask an admin for a sign-in link.</p></div>
            """,
        "signed_in": """
            <meta http-equiv="refresh" content="0;url={{next}}">
            <div class="card login" id="signed-in"><h1>Signed in</h1><p>You are signed in as <code id="signed-in-as">{{who}}</code>.</p>
            <p><a id="continue" href="{{next}}">Continue</a></p></div>
            """,
        "signin_link": """
            <div class="card login" id="sign-in-link"><h1>Sign in to Latchkey</h1>
            <p class="muted">This link works once.</p>
            <form method="post" action="/me/sign-in/{{token}}"><button id="sign-in-button" type="submit">Sign in</button></form></div>
            """,
        "problem": """
            <div class="card" id="problem"><h1>{{heading}}</h1><p id="error-message">{{message}}</p>
            <p class="muted">Code: <code id="error-code">{{code}}</code></p><p><a href="/me">Back to your connections</a></p></div>
            """,
        "my_approvals": """
            <h1>Calls waiting for your approval</h1>
            <p class="muted">An agent asked to use one of your connections for a call that needs your approval each time. Open one to see exactly what it asks, then approve it (it runs once) or decline it.</p>
            <div class="card" id="approvals">{{> approval_rows}}</div>
            """,
        "console": """
            <h1>Your connections</h1>
            <table id="connections"><tr><th>Provider</th><th>State</th><th>Account</th><th>Scopes</th><th>Last used</th><th>Used by</th><th></th></tr>
            {{#connections}}<tr class="connection" data-connection="{{id}}" data-provider="{{provider}}"><td>{{provider_name}}<br><code>{{id}}</code></td>
            <td class="state">{{state}}</td><td class="account">{{account}}</td><td class="wrap">{{scopes}}</td><td class="last-used">{{last_used}}</td>
            <td class="used-by">{{#used_by}}<code>{{.}}</code><br>{{/used_by}}{{^used_by}}no agent yet{{/used_by}}</td>
            <td>{{#can_reconnect}}<form class="inline" method="post" action="/me/connections/{{id}}/reconnect"><input type="hidden" name="csrf" value="{{csrf}}"><button class="reconnect" type="submit">Reconnect</button></form>{{/can_reconnect}}
            {{#can_revoke}}<form class="inline" method="post" action="/me/connections/{{id}}/revoke"><input type="hidden" name="csrf" value="{{csrf}}"><button class="danger revoke" type="submit">Revoke</button></form>{{/can_revoke}}</td></tr>{{/connections}}
            {{^connections}}<tr><td colspan="7">You have no connections yet.</td></tr>{{/connections}}</table>
            {{#has_providers}}<form class="card" method="post" action="/me/connect" id="connect-new"><input type="hidden" name="csrf" value="{{csrf}}">
            <label for="provider">Connect a new account</label> <select id="provider" name="provider">{{#providers}}<option value="{{id}}">{{name}}</option>{{/providers}}</select>
            <button id="connect-new-button" type="submit">Connect</button></form>{{/has_providers}}
            <h2>Agents</h2>
            <p class="muted">An agent uses one of your connections only while you allow it here, or allow its whole project. Withdrawing takes effect on the agent's next call.</p>
            <table id="consents"><tr><th>Connection</th><th>Agent or project</th><th>Since</th><th>Until</th><th></th></tr>
            {{#consents}}<tr class="consent" data-connection="{{connection}}" data-grantee="{{grantee}}"><td>{{provider_name}}<br><code>{{connection}}</code></td>
            <td><code>{{grantee}}</code></td><td>{{granted_at}}</td><td class="until">{{until}}</td>
            <td>{{#live}}<form class="inline" method="post" action="/me/consents/withdraw"><input type="hidden" name="csrf" value="{{csrf}}">
            <input type="hidden" name="connection" value="{{connection}}"><input type="hidden" name="grantee" value="{{grantee}}">
            <button class="danger withdraw" type="submit">Withdraw</button></form>{{/live}}</td></tr>{{/consents}}
            {{^consents}}<tr><td colspan="5">No agent may use your connections.</td></tr>{{/consents}}</table>
            {{#has_usable}}<form class="card" method="post" action="/me/consents" id="grant"><input type="hidden" name="csrf" value="{{csrf}}">
            <label for="grant-grantee">Allow</label> <input id="grant-grantee" name="grantee" placeholder="agent:{{org}}/team/project/agent" required>
            <label for="grant-connection">to use</label> <select id="grant-connection" name="connection">{{#usable}}<option value="{{id}}">{{provider_name}} · {{account}}</option>{{/usable}}</select>
            <label for="grant-hours">for</label> <select id="grant-hours" name="hours"><option value="">until I withdraw it</option><option value="1">1 hour</option><option value="24">1 day</option><option value="168">1 week</option></select>
            <button id="grant-button" type="submit">Allow</button></form>{{/has_usable}}
            """,
        "consent": """
            <div class="card" id="consent-request"><h1>An agent asks to use your {{provider_name}} connection</h1>
            <p><code id="consent-agent">{{agent}}</code> asks to act as <strong id="consent-account">{{account}}</strong> at {{provider_name}}
            with the scopes <span id="consent-scopes">{{scopes}}</span>.</p>
            <form method="post" action="/me/consent"><input type="hidden" name="csrf" value="{{csrf}}">
            <input type="hidden" name="agent" value="{{agent}}"><input type="hidden" name="connection" value="{{connection}}">
            <label><input type="radio" name="grantee" value="{{agent}}" checked> this agent only</label>
            <label><input type="radio" name="grantee" value="{{project}}"> every agent of <code>{{project}}</code></label><br>
            <label for="consent-hours">for</label> <select id="consent-hours" name="hours"><option value="">until I withdraw it</option><option value="1">1 hour</option><option value="24">1 day</option><option value="168">1 week</option></select>
            <button id="approve" name="decision" value="approve" type="submit">Allow</button>
            <button id="decline" class="danger" name="decision" value="decline" type="submit">Decline</button></form></div>
            """,
    ]
}
