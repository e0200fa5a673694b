import Foundation
import LatchkeyCrypto
import LatchkeyHTTP
import LatchkeyManifest
import LatchkeyOAuth
import LatchkeyStore
import LatchkeyStoreMemory
import Logging
import Testing
import Yams

@testable import LatchkeyServer

/// The OpenAPI document and the router agree: every route the router registers is documented, and every documented
/// path and method is routed.
@Suite struct OpenAPICoverageTests {
    /// Every route of a fully composed server, as `METHOD /path` with each parameter written `{}`.
    static func routed() throws -> Set<String> {
        let material = [UInt8](repeating: 7, count: 32)
        let keyring = try MasterKeyring(masterKeys: [1: material])
        let store = MemoryStore()
        let http = CurlHTTPClient()
        let composition = ServerComposition(
            store: store, vault: CredentialVault(keyring: MasterKeyringHolder(keyring), dataKeys: store),
            masterKeySource: try EnvironmentMasterKeys(single: Data(material).base64EncodedString(), list: nil), catalog: ProviderCatalog([:]),
            oauth: OAuthClient(transport: http), transport: http,
            settings: ServerSettings(publicURL: "http://127.0.0.1:9", returnToAllowlist: [], adminKeyHash: String(repeating: "0", count: 64)),
            logger: Logger(label: "openapi-coverage"))
        let router = LatchkeyApplication.router(composition, openAPI: OpenAPIDocument.text)
        return Set(router.routes.map { "\($0.method.rawValue) \(normalized($0.path.description))" })
    }

    /// Every documented operation, as `METHOD /path` with each parameter written `{}`.
    static func documented() throws -> Set<String> {
        let document = try #require(try Yams.load(yaml: OpenAPIDocument.text) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        var operations = Set<String>()
        for (path, item) in paths {
            for method in (item as? [String: Any] ?? [:]).keys where ["get", "put", "post", "delete", "patch", "head", "options"].contains(method) {
                operations.insert("\(method.uppercased()) \(normalized(path))")
            }
        }
        return operations
    }

    /// A segment holding a parameter (`{name}`, `:name`, `{provider}.{tool}`) becomes `{}`; `**` (the rest of the
    /// path, one segment or more) stays.
    static func normalized(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            segment.hasPrefix(":") || segment.contains("{") ? "{}" : String(segment)
        }.joined(separator: "/")
    }

    /// Whether the route `pattern` serves the documented `operation`: the same method and segments, a `{}` matching
    /// any one segment and a trailing `**` one or more.
    static func serves(_ pattern: String, _ operation: String) -> Bool {
        let route = pattern.split(separator: "/", omittingEmptySubsequences: false)
        let path = operation.split(separator: "/", omittingEmptySubsequences: false)
        if route.last == "**" {
            return path.count >= route.count && zip(route.dropLast(), path).allSatisfy { $0 == $1 || $0 == "{}" || $1 == "{}" }
        }
        return route.count == path.count && zip(route, path).allSatisfy { $0 == $1 || $0 == "{}" || $1 == "{}" }
    }

    @Test func everyRoutedOperationIsDocumented() throws {
        let documented = try Self.documented()
        let missing = try Self.routed().filter { route in !documented.contains { Self.serves(route, $0) } }
        #expect(missing.isEmpty, "routed but not in docs/openapi.yaml: \(missing.sorted())")
    }

    @Test func everyDocumentedOperationIsRouted() throws {
        let routed = try Self.routed()
        let missing = try Self.documented().filter { operation in !routed.contains { Self.serves($0, operation) } }
        #expect(missing.isEmpty, "in docs/openapi.yaml but not routed: \(missing.sorted())")
    }
}
