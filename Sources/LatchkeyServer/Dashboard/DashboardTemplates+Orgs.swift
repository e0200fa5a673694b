/// The dashboard's pages of orgs: the list, and one org's pool, usage and managed-or-own choices.
extension DashboardTemplates {
    static let orgPages: [String: String] = [
        "orgs": """
            <h1>Orgs</h1><table id="orgs"><tr><th>Org</th><th>Credit pool</th></tr>
            {{#orgs}}<tr class="org" data-org="{{org}}"><td><a href="/admin/orgs/{{org}}"><code>{{org}}</code></a></td><td>{{balance}}</td></tr>{{/orgs}}
            {{^orgs}}<tr><td colspan="2">No orgs yet.</td></tr>{{/orgs}}</table>
            """,
        "org": """
            <h1 id="org-name">org:{{org}}</h1>
            <div class="card"><h2>Credit pool</h2><p id="org-balance"><strong>{{balance}}</strong> credits left.</p>
            <p class="muted">Only calls on the platform's (managed) credentials draw credits; calls on the org's own never do.</p></div>
            <div class="card"><h2>Usage, last 30 days</h2>{{{chart}}}<p class="muted">Blue: calls on managed credentials; grey: calls on the org's own; one pair of bars per day (UTC), over every replica.</p>
            <table id="org-usage"><tr><th>Provider</th><th>Agent</th><th>Credentials</th><th>Calls</th><th>Credits</th></tr>
            {{#usage}}<tr class="usage"><td>{{provider}}</td><td class="wrap"><code>{{agent}}</code></td><td class="credentials">{{credentials}}</td><td class="calls">{{calls}}</td><td class="credits">{{credits}}</td></tr>{{/usage}}
            {{^usage}}<tr><td colspan="5">No calls yet.</td></tr>{{/usage}}</table></div>
            <div class="card"><h2>Managed or own credentials</h2><table id="org-choices"><tr><th>Provider</th><th>Uses</th><th>Why</th><th>Change</th></tr>
            {{#choices}}<tr class="choice" data-provider="{{provider}}"><td>{{name}}<br><code>{{provider}}</code></td><td class="uses">{{label}}</td>
            <td class="muted">{{#chosen}}chosen by an admin{{/chosen}}{{^chosen}}default{{/chosen}}; the platform {{#platform_offers}}offers it{{/platform_offers}}{{^platform_offers}}offers none{{/platform_offers}}; the org {{#org_has_own}}has its own{{/org_has_own}}{{^org_has_own}}has none of its own{{/org_has_own}}</td>
            <td><form class="choice-form" method="post" action="/admin/orgs/{{org}}/integrations/{{provider}}"><input type="hidden" name="csrf" value="{{csrf}}">
            <select name="credentials"><option value="managed"{{#managed}} selected{{/managed}}>managed by the platform</option><option value="own"{{#own}} selected{{/own}}>own app/key</option></select>
            <label><input type="checkbox" name="agents_may_choose"{{#agents_may_choose}} checked{{/agents_may_choose}}> agents may choose</label>
            <button type="submit">Save</button></form></td></tr>{{/choices}}
            {{^choices}}<tr><td colspan="4">No provider takes a credential.</td></tr>{{/choices}}</table></div>
            """,
    ]
}
