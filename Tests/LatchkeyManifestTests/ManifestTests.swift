import Foundation
import LatchkeyManifest
import LatchkeyModel
import Testing

let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let repositoryRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()

@Suite("Shipped manifests")
struct ShippedManifestTests {
    let manifests: [ProviderID: ProviderManifest]

    init() throws {
        manifests = try ManifestLoader.load(directories: [repositoryRoot.appendingPathComponent("providers").path]).get()
    }

    @Test func allLoadWithoutProblems() {
        #expect(manifests.count >= 18)
    }

    @Test(arguments: [
        "github", "google-drive", "gmail", "slack", "notion", "linear", "jira", "hubspot", "salesforce", "microsoft-graph",
        "discord", "dropbox", "zoom", "asana", "airtable", "brave-search", "affinity",
    ])
    func theRequiredProvidersShip(id: String) throws {
        let m = try #require(manifests[ProviderID(id)])
        #expect(m.tools.count >= 2, "\(id) needs at least two tools")
    }

    @Test func everyManifestHasTwoToolsAndAWriteToolWhereTheAPICanWrite() {
        let readOnlyAPIs: Set<String> = ["brave-search", "hacker-news"]
        // A remote MCP server's tools come from its own tools/list.
        for m in manifests.values where m.kind == .api {
            #expect(m.tools.count >= 2, "\(m.id)")
            if !readOnlyAPIs.contains(m.id.rawValue) {
                #expect(m.tools.contains { $0.access == .write }, "\(m.id) has no write tool")
            }
        }
    }

    @Test func theQuirksEachHaveAShippedExample() throws {
        let slack = try #require(manifests["slack"]?.auth.oauth2)
        #expect(slack.scopeSeparator == ",")
        let salesforce = try #require(manifests["salesforce"])
        #expect(salesforce.auth.oauth2?.tokenResponse.save["instance_url"] == "instance_url")
        #expect(salesforce.proxy?.baseURL.placeholders == ["instance_url"])
        let graph = try #require(manifests["microsoft-graph"])
        #expect(graph.connectionConfig.map(\.name) == ["tenant"])
        #expect(graph.auth.oauth2?.authorizationURL.placeholders == ["tenant"])
        let notion = try #require(manifests["notion"]?.auth.oauth2)
        #expect(notion.tokenRequestFormat == .json)
        #expect(notion.clientAuth == .clientSecretBasic)
        #expect(manifests.values.contains { $0.auth.oauth2?.clientAuth == .clientSecretPost })
        #expect(manifests["airtable"]?.auth.oauth2?.pkce == true)
        #expect(slack.pkce == false)
        #expect(manifests["github"]?.auth.oauth2?.defaultTokenLifetime == nil)  // documented never to expire
        #expect(manifests["hacker-news"]?.auth == AuthSpec.none)
        if case .apiKey = manifests["brave-search"]?.auth {} else { Issue.record("brave-search is not an API-key provider") }
    }

    /// Vendors' own remote MCP servers, each as its vendor documents it (the `docs` page names the URL and OAuth).
    @Test func atLeastTenRemoteMCPServersShip() {
        let servers = manifests.values.filter { $0.kind == .mcp }
        #expect(servers.count >= 10)
        for m in servers {
            #expect(m.id.rawValue.hasSuffix("-mcp") && m.auth == .remoteMCP && m.origin == .file, "\(m.id)")
            #expect(m.docs.hasPrefix("https://") && m.mcp?.url.hasPrefix("https://") == true, "\(m.id)")
            #expect(m.mcp.map { RemoteMCPSpec.problem(url: $0.url) == nil } == true, "\(m.id)")
        }
    }

    @Test func noShippedURLIsPlainHTTP() {
        for m in manifests.values {
            if let spec = m.auth.oauth2 {
                #expect(spec.tokenURL.raw.hasPrefix("https://"), "\(m.id)")
                #expect(spec.authorizationURL.raw.hasPrefix("https://"), "\(m.id)")
            }
            if let base = m.proxy?.baseURL.raw { #expect(base.hasPrefix("https://") || base.hasPrefix("{"), "\(m.id)") }
        }
    }
}

@Suite("Broken manifests")
struct BrokenManifestTests {
    static let directory = testsDirectory.appendingPathComponent("Fixtures/broken")
    static let expected: [String: String] = {
        let data = try! Data(contentsOf: directory.appendingPathComponent("expected.json"))
        return try! JSONDecoder().decode([String: String].self, from: data)
    }()

    @Test func theCorpusHasAtLeastTwelveCases() {
        #expect(Self.expected.count >= 12)
    }

    @Test(arguments: expected.keys.sorted())
    func eachGivesExactlyOneFileLineFieldMessage(name: String) throws {
        let path = Self.directory.appendingPathComponent("\(name).yaml").path
        let result = ManifestLoader.loadFile(path)
        guard case .failure(let errors) = result else {
            Issue.record("\(name) loaded without problems")
            return
        }
        #expect(errors.diagnostics.count == 1, "\(errors)")
        #expect(errors.diagnostics.first?.description == "\(path):\(Self.expected[name]!)")
    }
}

@Suite("Templates")
struct TemplateTests {
    @Test func placeholdersRenderAndReportMissingValues() {
        let t = URLTemplate("https://{subdomain}.example.com/{tenant}/x")
        #expect(t.placeholders == ["subdomain", "tenant"])
        #expect(t.render(["subdomain": "a", "tenant": "b"]) == "https://a.example.com/b/x")
        #expect(t.render(["subdomain": "a"]) == nil)
    }

    @Test func bracesThatAreNotNamesStayLiteral() {
        #expect(Placeholders.names(in: "query { viewer { id } }").isEmpty)
        #expect(Placeholders.whole("{title}") == "title")
        #expect(Placeholders.whole("x{title}") == nil)
    }

    @Test(arguments: [
        ("https://example.com", true), ("http://127.0.0.1:8080/x", true), ("http://localhost/x", true),
        ("http://[::1]:9/x", true), ("http://example.com/x", false), ("http://127.0.0.1.evil.com/", false),
        ("ftp://example.com", false), ("http://10.0.0.1/", false), ("https://", false),
    ])
    func urlRules(url: String, allowed: Bool) {
        #expect(URLRules.isAllowed(url) == allowed)
    }

    @Test func connectionConfigPatternsMatchWholeValues() {
        #expect(ConnectionConfigField.matches(pattern: "[a-z]+", "acme"))
        #expect(!ConnectionConfigField.matches(pattern: "[a-z]+", "acme.evil.com/x"))
    }
}

@Suite("Proxy settings")
struct ProxySettingsTests {
    /// A provider with no auth, a proxy (plus `proxyExtra` lines) and two tools: a read `a`, and a write `b` whose
    /// mapping starts with `toolExtra` (such as `approval: each_call, `).
    static func manifest(_ proxyExtra: String, toolExtra: String = "") -> Result<ProviderManifest, ManifestErrors> {
        ManifestParser.parse(
            yaml: """
                id: example
                name: Example
                docs: https://example.com/docs
                auth: {mode: none}
                proxy:
                  base_url: https://api.example.com
                \(proxyExtra)
                tools:
                  - {name: a, description: A., access: read, request: {method: GET, path: /a}, input: {type: object}}
                  - {name: b, description: B., access: write, \(toolExtra)request: {method: POST, path: /b}, input: {type: object}}
                """,
            file: "example.yaml", expectedID: "example")
    }

    @Test func nonIdempotentMethodsAreRetriedOnlyWhenTheManifestSaysSo() throws {
        #expect(try Self.manifest("").get().proxy?.retryNonIdempotent == false)
        #expect(try Self.manifest("  retry_non_idempotent: true").get().proxy?.retryNonIdempotent == true)
    }

    @Test func aRetrySettingThatIsNotABooleanIsReportedWithItsField() {
        guard case .failure(let errors) = Self.manifest("  retry_non_idempotent: sometimes") else {
            Issue.record("a non-boolean retry_non_idempotent was accepted")
            return
        }
        #expect(errors.diagnostics.contains { $0.field == "proxy.retry_non_idempotent" })
    }
}

@Suite("Tool approval")
struct ToolApprovalTests {
    static func manifest(_ approval: String) -> Result<ProviderManifest, ManifestErrors> {
        ProxySettingsTests.manifest("", toolExtra: approval)
    }

    @Test func aToolRunsAtOnceUnlessItsManifestAsksApprovalOfEachCall() throws {
        #expect(try Self.manifest("").get().tools.map(\.approval) == [.none, .none])
        #expect(try Self.manifest("approval: each_call, ").get().tools.map(\.approval) == [.none, .eachCall])
    }

    @Test func anUnknownApprovalIsReportedWithItsField() {
        guard case .failure(let errors) = Self.manifest("approval: sometimes, ") else {
            Issue.record("an unknown approval was accepted")
            return
        }
        #expect(errors.diagnostics.contains { $0.field == "tools[1].approval" })
    }
}

@Suite("Remote MCP manifests")
struct RemoteMCPManifestTests {
    static func parse(_ yaml: String) -> Result<ProviderManifest, ManifestErrors> {
        ManifestParser.parse(yaml: yaml, file: "notes.yaml", expectedID: "notes")
    }

    @Test func aKindMCPManifestNeedsOnlyItsURLAndTakesItsAuthorizationFromDiscovery() throws {
        let m = try Self.parse("""
            id: notes
            name: Notes
            docs: https://example.com/docs/mcp
            kind: mcp
            categories: [productivity]
            mcp: {url: "https://mcp.example.com/mcp"}
            """).get()
        #expect(m.kind == .mcp && m.origin == .file && m.sourcePath == "notes.yaml")
        #expect(m.mcp == RemoteMCPSpec(url: "https://mcp.example.com/mcp"))
        #expect(m.auth == .remoteMCP && m.auth.mode == "oauth2" && m.auth.oauth2 == nil && m.auth.takesApps)
        #expect(m.tools.isEmpty && m.proxy == nil && m.categories == ["productivity"] && m.pricing == .free)
        #expect(ManifestWarnings.of(m).map(\.field) == ["mcp"])
    }

    @Test func scopesAToolFilterAndPricingAreRead() throws {
        let m = try Self.parse("""
            id: notes
            name: Notes
            docs: https://example.com/docs/mcp
            kind: mcp
            mcp:
              url: http://127.0.0.1:8931/mcp
              scopes: [notes, "read:all"]
              tools: {deny: [delete_note]}
            pricing: {metered: true, credits_per_call: 2}
            """).get()
        let spec = try #require(m.mcp)
        #expect(spec.scopes == ["notes", "read:all"] && spec.tools == .deny(["delete_note"]))
        #expect(spec.tools.admits("list_notes") && !spec.tools.admits("delete_note"))
        #expect(ToolFilter.allow(["list_notes"]).admits("list_notes") && !ToolFilter.allow(["list_notes"]).admits("add_note"))
        #expect(m.pricing == .metered(creditsPerCall: 2))
    }

    @Test func everySectionThatDiscoveryDefinesIsRefusedEachNamingItsField() {
        guard case .failure(let errors) = Self.parse("""
            id: notes
            name: Notes
            docs: https://example.com/docs/mcp
            kind: mcp
            mcp: {url: "https://mcp.example.com/mcp", scopes: ["bad scope"]}
            proxy: {base_url: "https://api.example.com"}
            tools: []
            """)
        else { Issue.record("loaded"); return }
        #expect(errors.diagnostics.map(\.field) == ["proxy", "tools", "mcp.scopes"])
    }

    @Test(arguments: [
        ("https://mcp.example.com/mcp", nil),
        ("http://localhost:9000/mcp", nil),
        ("https://mcp.example.com/mcp#frag", "must not have a fragment"),
        ("https://user:pw@mcp.example.com/mcp", "must not carry credentials"),
        ("https://{tenant}.example.com/mcp", "must not have placeholders"),
        ("https://mcp.example.com/a b", "must be ASCII with no spaces (percent-encode anything else)"),
        ("http://10.0.0.7/mcp", "must be https (http is allowed only to loopback hosts): 'http://10.0.0.7/mcp'"),
    ] as [(String, String?)])
    func aServerURLIsHTTPSWithAHostAndNothingHidden(url: String, problem: String?) {
        #expect(RemoteMCPSpec.problem(url: url) == problem)
    }
}
