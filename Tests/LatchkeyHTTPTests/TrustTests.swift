import Foundation
import LatchkeyHTTP
import Testing

/// Outbound HTTPS verifies the peer against the system's store and the authorities an operator adds, never less.
@Suite struct TrustTests {
    @Test(arguments: Client.allCases) func anAuthorityTheOperatorAddsIsTrusted(_ kind: Client) async throws {
        let certificate = try await makeSelfSignedCertificate()
        defer { try? FileManager.default.removeItem(atPath: certificate.directory) }
        let server = try await LoopbackServer.start(certificate: (certificate.cert, certificate.key))
        let client = try kind.make(trust: OutboundTrust(additionalCAFiles: [certificate.cert]))
        defer { client.shutdown() }
        let response = try await client.send(OutboundRequest(url: "https://127.0.0.1:\(server.port)/echo?over=tls"))
        #expect(response.status == 200)
        #expect(try Echo(response).target == "/echo?over=tls")
        // Twice on one client: the second exchange reuses or reopens the TLS connection just as well.
        #expect(try await client.send(OutboundRequest(url: "https://127.0.0.1:\(server.port)/echo")).status == 200)
    }

    @Test(arguments: Client.allCases) func aTrustedCertificateForAnotherNameIsRefused(_ kind: Client) async throws {
        let certificate = try await makeSelfSignedCertificate(subjectAltName: "DNS:provider.example")
        defer { try? FileManager.default.removeItem(atPath: certificate.directory) }
        let server = try await LoopbackServer.start(certificate: (certificate.cert, certificate.key))
        let client = try kind.make(trust: OutboundTrust(additionalCAFiles: [certificate.cert]))
        defer { client.shutdown() }
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: "https://127.0.0.1:\(server.port)/echo"))
        }
        #expect(error?.code == .tlsFailed, "\(String(describing: error))")
    }

    @Test(arguments: Client.allCases) func anAddedFileThatHoldsNoCertificateIsRefusedWhenTheClientIsMade(_ kind: Client) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-not-a-ca-\(UUID().uuidString).pem")
        try Data("not a certificate".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let error = #expect(throws: OutboundError.self) {
            _ = try kind.make(trust: OutboundTrust(additionalCAFiles: [file.path]))
        }
        #expect(error?.code == .tlsFailed)
    }
}
