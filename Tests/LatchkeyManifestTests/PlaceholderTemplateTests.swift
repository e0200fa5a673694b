import LatchkeyManifest
import Testing

/// A template read once fills as the text scanned on each call does: the same output, and nil for a missing value.
@Suite struct PlaceholderTemplateTests {
    static let values = ["access_token": "tok", "api_key": "k{e}y", "username": "ann", "password": "", "_x1": "u"]

    @Test(arguments: [
        "Bearer {access_token}", "{api_key}", "{username}:{password}", "token={api_key}&again={api_key}", "", "plain",
        "{", "}", "{}", "{{api_key}}", "{1a}", "{api-key}", "a{_x1}b{username}c", "{ api_key }", "é{api_key}ü", "{missing}",
        "x{api_key}{missing}y", "{api_key", "api_key}",
    ])
    func fillsAsTheScannedTextDoes(_ text: String) {
        let lookup: (String) -> String? = { Self.values[$0] }
        #expect(PlaceholderTemplate(text).render(lookup) == Placeholders.render(text, lookup))
    }

    @Test func aMissingValueFillsNothing() {
        #expect(PlaceholderTemplate("Bearer {access_token}").render { _ in nil } == nil)
        #expect(PlaceholderTemplate("no placeholder").render { _ in nil } == "no placeholder")
    }

    @Test func templatesCompareByTheirText() {
        let literal: PlaceholderTemplate = "Bearer {access_token}"
        #expect(literal == PlaceholderTemplate("Bearer {access_token}"))
        #expect(literal != PlaceholderTemplate("Bearer {api_key}"))
        #expect(literal.description == "Bearer {access_token}")
    }
}
