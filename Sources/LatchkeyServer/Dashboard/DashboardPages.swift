import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// Renders dashboard pages: a page template inside the layout, as HTML that is never cached or framed.
struct DashboardPages: Sendable {
    let library: MustacheLibrary
    /// Where forms may go (CSP `form-action`), redirects after a submit included.
    let formAction: String

    /// The pages of `templates`, which must hold a `layout` and a `problem` template. `formAction` is `'self'` unless
    /// a form must end at another site (a person's sign-in goes on to their identity provider).
    init(templates: [String: String] = DashboardTemplates.all, formAction: String = "'self'") {
        self.formAction = formAction
        var library = MustacheLibrary()
        for (name, text) in templates {
            // Compiled into the binary; a syntax error is a programming error that the tests catch.
            try! library.register(text, named: name)
        }
        self.library = library
    }

    /// `template` rendered with `values`, inside the layout. `chrome` carries the signed-in header and the flash.
    func render(_ template: String, title: String, _ values: [String: Any], chrome: Chrome? = nil, status: HTTPResponse.Status = .ok) -> Response {
        var values = values
        if let chrome { values["csrf"] = chrome.csrf }
        let body = library.render(values, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "body": body]
        if let chrome {
            layout["signed_in"] = true
            layout["csrf"] = chrome.csrf
            if let who = chrome.who { layout["who"] = who }
            if let flash = chrome.flash { layout["flash"] = ["message": flash.message, "is_error": flash.isError] as [String: Any] }
        }
        let html = library.render(layout, withTemplate: "layout") ?? "<!doctype html><title>Latchkey</title>"
        return HTMLResponse.page(html, status: status, formAction: formAction)
    }

    /// A problem page: a heading, the error's message and its code.
    func problem(_ heading: String, code: String, message: String, status: HTTPResponse.Status, chrome: Chrome?) -> Response {
        render("problem", title: heading, ["heading": heading, "code": code, "message": message], chrome: chrome, status: status)
    }

    /// What a signed-in page carries besides its content.
    struct Chrome {
        var csrf: String
        var flash: AdminSession.Flash?
        /// Who is signed in, where the layout shows it.
        var who: String? = nil
    }
}
