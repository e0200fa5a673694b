import Foundation

/// Which certificate authorities outbound HTTPS trusts: the system's store, and the PEM files an operator adds
/// (`outbound_ca_files`, for a provider or MCP server behind a private CA). Verification of the peer's certificate and
/// name is always on: there is no setting that turns it off.
public struct OutboundTrust: Sendable, Equatable {
    /// PEM files of certificate authorities trusted besides the system's.
    public var additionalCAFiles: [String]

    public init(additionalCAFiles: [String] = []) {
        self.additionalCAFiles = additionalCAFiles
    }

    /// The system's store and nothing else.
    public static let system = OutboundTrust()

    /// Where Debian (and curl built for it) keeps the system's certificate authorities.
    static let systemBundle = "/etc/ssl/certs/ca-certificates.crt"

    /// The system's bundle followed by every added file, as one PEM text (for curl's `CURLOPT_CAINFO_BLOB`); nil when
    /// nothing is added, so that curl keeps its own default.
    ///
    /// - Throws: ``OutboundError`` `.tlsFailed` naming a file that cannot be read or holds no certificate.
    func combinedPEM() throws -> [UInt8]? {
        guard !additionalCAFiles.isEmpty else { return nil }
        var pem = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.systemBundle)))) ?? []
        for file in additionalCAFiles {
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: file)),
                String(decoding: data, as: UTF8.self).contains("-----BEGIN CERTIFICATE-----")
            else {
                throw OutboundError(code: .tlsFailed, message: "outbound CA file \(file) cannot be read or holds no PEM certificate")
            }
            pem.append(UInt8(ascii: "\n"))
            pem.append(contentsOf: data)
        }
        return pem
    }
}
