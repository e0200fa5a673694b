import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// Server-rendered pages for people: the connect page, its API-key form, and the end pages.
/// Templates are Mustache; `{{value}}` escapes HTML, so provider and user values always render as text.
struct Pages: Sendable {
    let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (name, text) in PageTemplates.all {
            // The templates are compiled into the binary; a syntax error is a programming error caught by tests.
            try! library.register(text, named: name)
        }
        self.library = library
    }

    func render(_ name: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let html = library.render(values, withTemplate: name) ?? "<!doctype html><title>Latchkey</title>"
        return HTMLResponse.page(html, status: status, formAction: "*")
    }

    /// An error page with the error's code and message.
    func error(_ code: String, _ message: String, status: HTTPResponse.Status) -> Response {
        render("error", ["code": code, "message": message, "status": Int(status.code)], status: status)
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}

enum PageTemplates {
    static let style = """
        <style>
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f5f6f8;color:#1d2330;margin:0}
        main{max-width:30rem;margin:4rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}
        h1{font-size:1.4rem;margin-top:0} .muted{color:#5b6475;font-size:.9rem}
        ul.scopes{padding-left:1.2rem} code{background:#eef0f4;padding:.1rem .3rem;border-radius:4px}
        label{display:block;margin:.8rem 0 .3rem;font-weight:600} input{width:100%;padding:.6rem;border:1px solid #c9ceda;border-radius:8px;box-sizing:border-box}
        button{margin-top:1.2rem;width:100%;padding:.8rem;border:0;border-radius:8px;background:#2f5bea;color:#fff;font-size:1rem;cursor:pointer}
        .error{border-left:4px solid #d33;padding-left:1rem} .ok{border-left:4px solid #2a9d4b;padding-left:1rem}
        </style>
        """

    static let all: [String: String] = [
        "connect": """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>Connect {{provider_name}} · Latchkey</title>\(style)</head><body><main id="connect">
            <h1>Connect your {{provider_name}} account</h1>
            <p class="muted">For <code id="owner">{{owner}}</code>. This link works once and expires at {{expires_at}}.</p>
            {{#expected_account}}<p id="reconnect-account">This reconnects an existing connection. Sign in to {{provider_name}} as
            <strong id="expected-account">{{expected_account}}</strong>: another account is refused.</p>{{/expected_account}}
            {{#has_scopes}}<p>{{provider_name}} will be asked for:</p><ul class="scopes" id="scopes">{{#scopes}}<li>{{.}}</li>{{/scopes}}</ul>{{/has_scopes}}
            {{#oauth}}<form method="post" action="/connect/{{token}}/start">
            {{#config}}<label for="cfg-{{name}}">{{label}}</label><input id="cfg-{{name}}" name="{{name}}" value="{{default}}" required>{{/config}}
            <button id="connect-button" type="submit">Connect {{provider_name}}</button></form>{{/oauth}}
            {{#api_key}}<form method="post" action="/connect/{{token}}/key">
            {{#config}}<label for="cfg-{{name}}">{{label}}</label><input id="cfg-{{name}}" name="{{name}}" value="{{default}}" required>{{/config}}
            <label for="api_key">{{key_label}}</label><input id="api_key" name="api_key" type="password" autocomplete="off" required>
            {{#help_url}}<p class="muted"><a href="{{help_url}}" rel="noopener noreferrer">Where do I find it?</a></p>{{/help_url}}
            <button id="connect-button" type="submit">Save key</button></form>{{/api_key}}
            {{#basic}}<form method="post" action="/connect/{{token}}/key">
            {{#config}}<label for="cfg-{{name}}">{{label}}</label><input id="cfg-{{name}}" name="{{name}}" value="{{default}}" required>{{/config}}
            <label for="username">{{username_label}}</label><input id="username" name="username" autocomplete="off" required>
            <label for="password">{{password_label}}</label><input id="password" name="password" type="password" autocomplete="off">
            <button id="connect-button" type="submit">Save</button></form>{{/basic}}
            </main></body></html>
            """,
        "success": """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>Connected · Latchkey</title>\(style)</head><body><main id="connect-success" class="ok">
            <h1>{{provider_name}} is connected</h1>
            <p>Connected as <strong id="account">{{account}}</strong>.</p>
            <p class="muted">Connection <code id="connection-id">{{connection_id}}</code>. You can close this page.</p>
            </main></body></html>
            """,
        "error": """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
            <title>Could not connect · Latchkey</title>\(style)</head><body><main id="connect-error" class="error">
            <h1>Could not connect</h1>
            <p id="error-message">{{message}}</p>
            <p class="muted">Error <code id="error-code">{{code}}</code> (HTTP {{status}}).</p>
            </main></body></html>
            """,
    ]
}
