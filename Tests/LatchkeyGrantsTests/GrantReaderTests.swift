import Foundation
import LatchkeyGrants
import LatchkeyModel
import Testing

/// Grants as the API takes them: what is read, and every bad input refused with a code and the field it is about.
@Suite struct GrantReaderTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let reader = GrantReader(now: now) { provider, tool in
        provider == ProviderID("github") && (tool == nil || ["list_issues", "create_issue"].contains(tool!))
    }

    static func json(_ text: String) -> JSONValue { JSONValue.parse(Array(text.utf8))! }

    @Test func readsToolAndProxyGrants() throws {
        let grants = try Self.reader.grants(Self.json("""
            [{"provider": "github", "tools": ["list_issues"]},
             {"provider": "github", "methods": ["get", "HEAD"], "paths": ["/repos/acme/*", "/user"], "connection": "conn_1",
              "ttl": "2h", "approval": "each_call"}]
            """))
        #expect(grants.count == 2)
        #expect(grants[0] == Grant(capability: .tools(provider: "github", names: ["list_issues"])))
        guard case .proxy(let provider, let methods, let paths) = grants[1].capability else { Issue.record("not a proxy rule"); return }
        #expect(provider == "github")
        #expect(methods == ["GET", "HEAD"])
        #expect(paths.map(\.description) == ["/repos/acme/*", "/user"])
        #expect(grants[1].connection == ConnectionID(rawValue: "conn_1"))
        #expect(grants[1].expiresAt == Self.now.addingTimeInterval(7200))
        #expect(grants[1].approval == .eachCall)
    }

    @Test func readsAnExpiryTime() throws {
        let grant = try Self.reader.grant(Self.json(#"{"provider": "github", "tools": ["list_issues"], "expires_at": "2027-01-16T08:00:00Z"}"#), field: "g")
        #expect(grant.expiresAt == ISO8601DateFormatter().date(from: "2027-01-16T08:00:00Z"))
    }

    /// input, code, field
    static let refused: [(String, LatchkeyError.Code, String)] = [
        (#"{"grants": 1}"#, .invalidRequest, "grants"),
        (#"[1]"#, .invalidRequest, "grants[0]"),
        (#"[{"tools": ["list_issues"]}]"#, .invalidRequest, "grants[0].provider"),
        (#"[{"provider": "gitlab", "tools": ["x"]}]"#, .notFound, "grants[0].provider"),
        (#"[{"provider": "github", "tools": ["list_issues", "delete_repo"]}]"#, .notFound, "grants[0].tools[1]"),
        (#"[{"provider": "github", "tools": []}]"#, .invalidRequest, "grants[0].tools"),
        (#"[{"provider": "github"}]"#, .invalidRequest, "grants[0]"),
        (#"[{"provider": "github", "tools": ["list_issues"], "methods": ["GET"], "paths": ["/x"]}]"#, .invalidRequest, "grants[0]"),
        (#"[{"provider": "github", "paths": ["/x"]}]"#, .invalidRequest, "grants[0].methods"),
        (#"[{"provider": "github", "methods": ["GET"]}]"#, .invalidRequest, "grants[0].paths"),
        (#"[{"provider": "github", "methods": ["FETCH"], "paths": ["/x"]}]"#, .invalidRequest, "grants[0].methods[0]"),
        (#"[{"provider": "github", "methods": ["GET"], "paths": ["/x", "/repos/ac*"]}]"#, .invalidRequest, "grants[0].paths[1]"),
        (#"[{"provider": "github", "methods": ["GET"], "paths": ["x"]}]"#, .invalidRequest, "grants[0].paths[0]"),
        (#"[{"provider": "github", "tools": ["list_issues"], "ttl": "2h", "expires_at": "2027-01-15T08:00:00Z"}]"#, .invalidRequest, "grants[0]"),
        (#"[{"provider": "github", "tools": ["list_issues"], "ttl": "2 hours"}]"#, .invalidRequest, "grants[0].ttl"),
        (#"[{"provider": "github", "tools": ["list_issues"], "ttl": "0m"}]"#, .invalidRequest, "grants[0].ttl"),
        (#"[{"provider": "github", "tools": ["list_issues"], "ttl": "400d"}]"#, .invalidRequest, "grants[0].ttl"),
        (#"[{"provider": "github", "tools": ["list_issues"], "expires_at": "tomorrow"}]"#, .invalidRequest, "grants[0].expires_at"),
        (#"[{"provider": "github", "tools": ["list_issues"], "expires_at": "2020-01-01T00:00:00Z"}]"#, .invalidRequest, "grants[0].expires_at"),
        (#"[{"provider": "github", "tools": ["list_issues"], "approval": "sometimes"}]"#, .invalidRequest, "grants[0].approval"),
        (#"[{"provider": "github", "tools": ["list_issues"], "connection": 7}]"#, .invalidRequest, "grants[0].connection"),
        (#"[{"provider": "github", "tools": ["list_issues"], "scope": "all"}]"#, .invalidRequest, "grants[0].scope"),
    ]

    @Test(arguments: refused) func refuses(_ input: String, _ code: LatchkeyError.Code, _ field: String) {
        do {
            _ = try Self.reader.grants(Self.json(input))
            Issue.record("accepted \(input)")
        } catch {
            #expect(error.code == code, "\(input)")
            #expect(error.field == field, "\(input)")
        }
    }
}
