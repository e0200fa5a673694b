/// The dashboard's Mustache templates. Every `{{value}}` is HTML-escaped; the only triple mustaches are the
/// page body (rendered from these templates) and the server-drawn chart (numbers only).
enum DashboardTemplates {
    static let style = """
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f5f6f8;color:#1d2330;margin:0}
        header{background:#1d2330;color:#fff;padding:.7rem 1.5rem;display:flex;gap:1.2rem;align-items:center}
        header a{color:#fff;text-decoration:none} header .grow{flex:1} header form{margin:0}
        main{max-width:72rem;margin:1.5rem auto;padding:0 1.5rem} h1{font-size:1.4rem} h2{font-size:1.1rem;margin-top:1.6rem}
        .card{background:#fff;border-radius:10px;padding:1rem 1.2rem;box-shadow:0 1px 6px rgba(0,0,0,.07);margin-bottom:1rem}
        table{border-collapse:collapse;width:100%;background:#fff} th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e6e8ee;vertical-align:top;font-size:.92rem}
        td code,td.wrap{overflow-wrap:anywhere}
        th{background:#eef0f4} code{background:#eef0f4;padding:.05rem .3rem;border-radius:4px} .muted{color:#5b6475;font-size:.88rem}
        .tabs a{display:inline-block;padding:.45rem .9rem;border-radius:8px 8px 0 0;background:#e3e6ee;color:#1d2330;text-decoration:none;margin-right:.2rem}
        .tabs a.on{background:#fff;font-weight:600}
        .flash{padding:.7rem 1rem;border-radius:8px;margin-bottom:1rem;background:#e7f6ec;border-left:4px solid #2a9d4b;word-break:break-all}
        .flash.error{background:#fdecec;border-left-color:#d33}
        input,select{padding:.4rem;border:1px solid #c9ceda;border-radius:6px} button{padding:.4rem .8rem;border:0;border-radius:6px;background:#2f5bea;color:#fff;cursor:pointer}
        button.danger{background:#c0392b} form.inline{display:inline} .state{font-weight:600}
        .login{max-width:24rem;margin:5rem auto} .login input{width:100%;box-sizing:border-box;margin:.4rem 0 .8rem}
        </style>
        """

    /// Every page template of the dashboard.
    static let all = pages.merging(agentPages) { first, _ in first }.merging(orgPages) { first, _ in first }

    static let pages: [String: String] = [
        "layout": """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>{{title}} · Latchkey admin</title>\(style)</head><body>
            {{#signed_in}}<header><strong>Latchkey admin</strong><a href="/admin">Integrations</a><a href="/admin/orgs">Orgs</a><a href="/admin/approvals">Approvals</a><a href="/admin/audit">Audit log</a><span class="grow"></span>
            <form method="post" action="/admin/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button id="logout" type="submit">Sign out</button></form></header>{{/signed_in}}
            <main>{{#flash}}<div id="flash" class="flash{{#is_error}} error{{/is_error}}">{{message}}</div>{{/flash}}{{{body}}}</main></body></html>
            """,
        "login": """
            <div class="card login" id="login"><h1>Sign in</h1>
            {{#error}}<div id="login-error" class="flash error">{{error}}</div>{{/error}}
            <form method="post" action="/admin/login"><label for="admin_key">Admin key</label>
            <input id="admin_key" name="admin_key" type="password" autocomplete="off" required>
            <button id="sign-in" type="submit">Sign in</button></form></div>
            """,
        "integrations": """
            <h1>Integrations</h1>
            <form method="get" action="/admin" class="card"><input id="q" name="q" value="{{q}}" placeholder="Search providers"> <button type="submit">Search</button></form>
            <table id="integrations"><tr><th>Provider</th><th>Auth</th><th>Setup</th><th>Credentials per org</th><th>Connections</th><th>Refresh success (24 h)</th><th>Proxy errors (24 h)</th></tr>
            {{#providers}}<tr class="integration" data-provider="{{id}}"><td><a href="/admin/integrations/{{id}}">{{name}}</a><br><code>{{id}}</code></td>
            <td>{{mode}}</td><td class="setup">{{setup}}</td><td class="credentials">{{#orgs}}<a href="/admin/orgs/{{org}}"><code>{{org}}</code></a>: {{label}}<br>{{/orgs}}{{#more}}and {{more}} more{{/more}}{{^orgs}}{{none}}{{/orgs}}</td><td class="counts">{{#counts}}<span class="state">{{state}}</span> {{count}}<br>{{/counts}}{{^counts}}none{{/counts}}</td>
            <td class="health">{{health}}</td><td class="proxy">{{proxy}}</td></tr>{{/providers}}
            {{^providers}}<tr><td colspan="7">No provider matches.</td></tr>{{/providers}}</table>
            <p class="muted">Refresh success counts <code>connection.refreshed</code> against <code>connection.refresh_failed</code> in the audit log. Proxy errors are calls that Latchkey refused or could not finish, or that the provider answered with a 5xx status; they are counted over every replica for the last 24 hours (another replica's calls show after a few seconds).</p>
            """,
        "integration": """
            <h1 id="integration-name">{{name}}</h1><p class="muted"><code>{{id}}</code> · {{mode}}{{#docs}} · <a href="{{docs}}" rel="noopener noreferrer">docs</a>{{/docs}}</p>
            <nav class="tabs"><a id="tab-dashboard" href="?tab=dashboard"{{#tab_dashboard}} class="on"{{/tab_dashboard}}>Dashboard</a><a id="tab-tools" href="?tab=tools"{{#tab_tools}} class="on"{{/tab_tools}}>Available Tools</a><a id="tab-connections" href="?tab=connections"{{#tab_connections}} class="on"{{/tab_connections}}>Your Connections</a></nav>
            {{#tab_dashboard}}<div class="card" id="dashboard">
            <h2>Summary</h2><p id="summary">{{#counts}}<span class="state">{{state}}</span> {{count}}&emsp;{{/counts}}{{^counts}}No connections yet.{{/counts}}</p>
            <h2>Health, last 24 hours</h2><p id="health">Refresh success: {{health}}</p>{{{chart}}}
            <p class="muted">Green: refreshes; red: failed refreshes; one pair of bars per hour.</p>
            <p id="proxy-health">Proxied calls: {{proxy}}</p>{{{proxy_chart}}}<p class="muted">Green: completed calls; red: errors (Latchkey's own, or a provider 5xx); per clock hour, over every replica.</p>
            <h2>Setup</h2><p id="setup">{{setup}}</p>{{#apps}}<p class="muted">App <code>{{client_id}}</code> at <code>{{owner}}</code>, updated {{updated_at}}</p>{{/apps}}
            <h2>Credentials per org</h2><table id="org-credentials"><tr><th>Org</th><th>Uses</th><th>Set by</th></tr>
            {{#orgs}}<tr class="org-credentials" data-org="{{org}}"><td><a href="/admin/orgs/{{org}}"><code>{{org}}</code></a></td><td class="uses">{{label}}</td><td>{{#chosen}}an admin{{/chosen}}{{^chosen}}default{{/chosen}}</td></tr>{{/orgs}}
            {{^orgs}}<tr><td colspan="3">{{none}}</td></tr>{{/orgs}}</table>
            <h2>Linked agents</h2><ul id="linked-agents">{{#linked}}<li><a href="/admin/agents/{{path}}"><code>{{ref}}</code></a></li>{{/linked}}{{^linked}}<li>None.</li>{{/linked}}</ul>
            <h2>Recent activity</h2>{{> events}}</div>{{/tab_dashboard}}
            {{#tab_tools}}<div class="card" id="tools"><table><tr><th>Tool</th><th>Access</th><th>Description</th><th>Input</th></tr>
            {{#tools}}<tr class="tool"><td><code>{{name}}</code></td><td>{{access}}</td><td>{{description}}</td><td>{{#fields}}<code>{{name}}</code>{{#type}} {{type}}{{/type}}{{#required}} (required){{/required}}<br>{{/fields}}{{^fields}}none{{/fields}}</td></tr>{{/tools}}
            {{^tools}}<tr><td colspan="4">This integration has no tools.</td></tr>{{/tools}}</table></div>{{/tab_tools}}
            {{#tab_connections}}<div class="card" id="connections"><table><tr><th>Connection</th><th>State</th><th>Account</th><th>Owner</th><th>Last error</th><th>Actions</th></tr>
            {{#connections}}<tr class="connection" data-id="{{id}}"><td><code>{{id}}</code></td><td class="state">{{state}}</td><td class="account">{{account}}</td><td><code>{{owner}}</code></td><td>{{last_error}}</td><td>
            {{#can_refresh}}<form class="inline" method="post" action="/admin/integrations/{{provider}}/connections/{{id}}/refresh"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="refresh">Refresh</button></form>{{/can_refresh}}
            {{#can_revoke}}<form class="inline" method="post" action="/admin/integrations/{{provider}}/connections/{{id}}/revoke"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="danger revoke">Revoke</button></form>{{/can_revoke}}
            </td></tr>{{/connections}}{{^connections}}<tr><td colspan="6">No connections yet.</td></tr>{{/connections}}</table></div>
            <div class="card"><h2>Set up a connection</h2><form id="connect-link-form" method="post" action="/admin/integrations/{{id}}/connect-link"><input type="hidden" name="csrf" value="{{csrf}}">
            <label>Owner <input name="owner" placeholder="agent:org/team/project/agent" required size="40"></label> <button type="submit">Create connect link</button></form></div>
            {{#has_write_tools}}<div class="card"><h2>Grant a write tool</h2><form id="grant-form" method="post" action="/admin/integrations/{{id}}/grants"><input type="hidden" name="csrf" value="{{csrf}}">
            <label>Agent <input name="agent" placeholder="agent:org/team/project/agent" required size="40"></label>
            <select name="tool">{{#write_tools}}<option value="{{.}}">{{.}}</option>{{/write_tools}}</select>
            <button type="submit" name="do" value="grant" id="grant-button">Grant</button> <button type="submit" name="do" value="withdraw" class="danger" id="withdraw-button">Withdraw</button></form></div>{{/has_write_tools}}
            {{#oauth}}<div class="card"><h2>Rotate the client secret</h2><form id="rotate-form" method="post" action="/admin/integrations/{{id}}/rotate-secret"><input type="hidden" name="csrf" value="{{csrf}}">
            <label>Owner of the app <input name="owner" placeholder="org:acme" required></label> <label>New client secret <input name="client_secret" type="password" autocomplete="off" required></label>
            <button type="submit">Rotate</button></form></div>{{/oauth}}{{/tab_connections}}
            """,
        "events": """
            <table class="events"><tr><th>Time</th><th>Actor</th><th>Action</th><th>Owner</th><th>Provider</th><th>Connection</th><th>Outcome</th><th>Detail</th></tr>
            {{#events}}<tr class="event"><td>{{at}}</td><td class="wrap">{{actor}}</td><td>{{action}}</td><td class="wrap">{{owner}}</td><td>{{provider}}</td><td class="wrap">{{connection}}</td><td>{{outcome}}</td><td class="wrap">{{detail}}</td></tr>{{/events}}
            {{^events}}<tr><td colspan="8">No events.</td></tr>{{/events}}</table>
            """,
        "audit": """
            <h1>Audit log</h1>
            <form id="audit-filters" class="card" method="get" action="/admin/audit">
            <label>Owner <input name="owner" value="{{owner}}" placeholder="org:acme"></label> <label>Action <input name="action" value="{{action}}" placeholder="connection."></label>
            <label>Provider <input name="provider" value="{{provider}}"></label> <label>Outcome <select name="outcome"><option value="">any</option>
            <option value="success"{{#success}} selected{{/success}}>success</option><option value="failure"{{#failure}} selected{{/failure}}>failure</option></select></label>
            <button type="submit">Filter</button></form>{{> events}}<p class="muted">Newest first, at most {{limit}} events.</p>
            """,
        "problem": """
            <div class="card" id="problem"><h1>{{heading}}</h1><p id="problem-message">{{message}}</p><p class="muted"><code>{{code}}</code></p><p><a href="/admin">Back to integrations</a></p></div>
            """,
    ]
}
