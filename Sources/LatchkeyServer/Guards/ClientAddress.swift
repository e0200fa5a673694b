import LatchkeyHTTP

/// The address a request came from, for limits that count per client.
enum ClientAddress {
    /// The peer's address; when the peer is one of `trustedProxies`, the last address in `X-Forwarded-For` that is
    /// not (a proxy appends the address it saw, so the entries before the last untrusted one may be forged). The
    /// header's values are read only for a trusted peer (every API call asks).
    static func of(peer: String?, forwardedFor: @autoclosure () -> [String], trustedProxies: [AddressRange]) -> String {
        guard let peer else { return "unknown" }
        // With no proxy trusted, the peer is the client: nothing to parse on each request.
        if trustedProxies.isEmpty { return peer }
        func trusted(_ address: String) -> Bool {
            guard let bytes = AddressRange.bytes(of: address) else { return false }
            return trustedProxies.contains { $0.contains(bytes) }
        }
        guard trusted(peer) else { return peer }
        let hops = forwardedFor().flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !trusted(hop) {
            return AddressRange.bytes(of: hop) == nil ? peer : hop
        }
        return peer
    }
}
