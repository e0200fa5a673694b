/// The dashboard's pages of agents and of the calls they wait on: an agent's page, the approvals list and one approval.
extension DashboardTemplates {
    static let agentPages: [String: String] = [
        "agent": """
            <h1 id="agent-name">{{agent}}</h1><p class="muted">Org policy: read tools <code>{{read_tools}}</code>, proxy <code>{{proxy}}</code>.</p>
            <div class="card"><h2>Grants</h2><table id="agent-grants"><tr><th>Held by</th><th>Provider</th><th>What</th><th>Connection</th><th>Approval</th><th>Expires</th></tr>
            {{#grants}}<tr class="grant{{#expired}} expired{{/expired}}"><td>{{holder}}</td><td>{{provider}}</td><td class="wrap"><code>{{what}}</code></td><td>{{connection}}</td><td>{{approval}}</td><td>{{expires_at}}{{#expired}} <strong>(expired)</strong>{{/expired}}</td></tr>{{/grants}}
            {{^grants}}<tr><td colspan="6">No grants.</td></tr>{{/grants}}</table></div>
            <div class="card"><h2>Narrowed keys</h2><table id="agent-keys"><tr><th>Key</th><th>From</th><th>Depth</th><th>Grants</th><th>Created</th><th>Expires</th></tr>
            {{#keys}}<tr class="narrowed-key{{#expired}} expired{{/expired}}"><td><code>{{id}}</code></td><td><code>{{parent}}</code></td><td>{{depth}}</td><td class="wrap">{{grants}}</td><td>{{created_at}}</td><td>{{expires_at}}{{#expired}} <strong>(expired)</strong>{{/expired}}</td></tr>{{/keys}}
            {{^keys}}<tr><td colspan="6">No narrowed keys.</td></tr>{{/keys}}</table></div>
            <div class="card"><h2>Waiting for approval</h2>{{> approval_rows}}</div>
            """,
        "approval_rows": """
            <table class="approvals"><tr><th>Approval</th><th>State</th><th>Agent</th><th>Call</th><th>Connection</th><th>Asked</th><th>Decide by</th></tr>
            {{#approvals}}<tr class="approval" data-id="{{id}}"><td><a href="{{form_base}}/approvals/{{id}}"><code>{{id}}</code></a></td><td class="state">{{state}}</td><td class="wrap"><code>{{agent}}</code></td>
            <td class="wrap"><code>{{summary}}</code></td><td class="wrap"><code>{{connection}}</code></td><td>{{created_at}}</td><td>{{expires_at}}</td></tr>{{/approvals}}
            {{^approvals}}<tr><td colspan="7">None.</td></tr>{{/approvals}}</table>
            """,
        "approvals": """
            <h1>Approvals</h1><nav class="tabs">{{#states}}<a href="/admin/approvals?state={{state}}"{{#on}} class="on"{{/on}}>{{state}}</a>{{/states}}</nav>
            <div class="card" id="approvals">{{> approval_rows}}</div>
            <p class="muted">A call under a grant or tool marked <code>each_call</code> waits here until a person approves or declines it. An approved call runs once, as its agent, and its answer is kept for the agent for 24 hours.</p>
            """,
        "approval": """
            <h1>Approval <code id="approval-id">{{id}}</code></h1>
            <div class="card" id="approval"><table>
            <tr><th>State</th><td id="approval-state" class="state">{{state}}</td></tr>
            <tr><th>Agent</th><td class="wrap"><code id="approval-agent">{{agent}}</code> with key <code>{{key}}</code></td></tr>
            <tr><th>Provider</th><td>{{provider}}</td></tr>
            <tr><th>Connection</th><td class="wrap"><code>{{connection}}</code> of <code>{{connection_owner}}</code></td></tr>
            <tr><th>Call</th><td class="wrap"><code id="approval-summary">{{summary}}</code></td></tr>
            <tr><th>Details</th><td><pre id="approval-call" class="wrap">{{call}}</pre><p class="muted">Values whose names speak of secrets are hidden. The credential is never part of the call: Latchkey adds it when the call runs.</p></td></tr>
            <tr><th>Asked</th><td>{{created_at}}</td></tr><tr><th>Decide by</th><td>{{expires_at}}</td></tr>
            {{#decided_by}}<tr><th>Decided</th><td>by <code>{{decided_by}}</code> at {{decided_at}}</td></tr>{{/decided_by}}
            {{#result_status}}<tr><th>Provider answered</th><td id="approval-result">{{result_status}}</td></tr>{{/result_status}}
            </table>
            {{#pending}}<form id="decide-form" method="post" action="{{form_base}}/approvals/{{id}}/decide"><input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit" name="decision" value="approve" id="approve-button">Approve and run once</button>
            <button type="submit" name="decision" value="decline" class="danger" id="decline-button">Decline</button></form>{{/pending}}</div>
            """,
    ]
}
