import LatchkeyManifest
import Testing

/// Templates fill each `{name}` from the values and leave every other brace as written; a missing value fills nothing.
@Suite struct PlaceholderTemplateTests {
    static let values = ["access_token": "tok", "api_key": "k{e}y", "username": "ann", "password": "", "_x1": "u"]

    @Test(arguments: [
        ("Bearer {access_token}", "Bearer tok"), ("{api_key}", "k{e}y"), ("{username}:{password}", "ann:"),
        ("token={api_key}&again={api_key}", "token=k{e}y&again=k{e}y"), ("", ""), ("plain", "plain"), ("{", "{"), ("}", "}"),
        ("{}", "{}"), ("{{api_key}}", "{k{e}y}"), ("{1a}", "{1a}"), ("{api-key}", "{api-key}"), ("a{_x1}b{username}c", "aubannc"),
        ("{ api_key }", "{ api_key }"), ("é{api_key}ü", "ék{e}yü"), ("{missing}", nil), ("x{api_key}{missing}y", nil),
        ("{api_key", "{api_key"), ("api_key}", "api_key}"),
    ] as [(String, String?)])
    func fillsEachNameAndLeavesOtherBracesAsWritten(_ text: String, _ expected: String?) {
        let lookup: (String) -> String? = { Self.values[$0] }
        #expect(PlaceholderTemplate(text).render(lookup) == expected)
        #expect(Placeholders.render(text, lookup) == expected)
        #expect(URLTemplate(text).render(Self.values) == expected)
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
