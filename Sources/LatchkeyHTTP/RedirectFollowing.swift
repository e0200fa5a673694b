/// The redirect rules both clients share: which hops are followed, how a method changes, and the bounds.
enum RedirectFollowing {
    /// The most redirect hops followed when ``OutboundRequest/followRedirects`` is set.
    static let maxRedirects = 5

    /// Sends `request` through `exchange` (one request, no redirects, returning the response and its resolved
    /// `Location`) and, when the request asks for it, follows same-origin redirects.
    ///
    /// A 301, 302, 303, 307 or 308 whose `Location` passes the URL policy with the same scheme, host and port is
    /// followed, up to ``maxRedirects`` hops (more throws `.transport`); 303, and 301/302 after a `POST`, continue
    /// as a `GET` without body, as browsers and curl do (RFC 9110 §15.4). A redirect to another origin is returned
    /// as the response. `totalTimeout` bounds the whole exchange, hops included.
    static func send(
        _ request: OutboundRequest, target first: ParsedURL,
        exchange: (OutboundRequest, ParsedURL) async throws -> (response: OutboundResponse, location: String?)
    ) async throws -> OutboundResponse {
        var target = first
        var current = request
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: request.totalTimeout)
        var hops = 0
        while true {
            let (response, location) = try await exchange(current, target)
            let status = response.status
            guard current.followRedirects, [301, 302, 303, 307, 308].contains(status),
                let location,
                let next = try? OutboundURLPolicy.checked(location), next.isSameOrigin(as: target)
            else { return response }
            hops += 1
            guard hops <= maxRedirects else {
                throw OutboundError(
                    code: .transport,
                    message: "\(request.method) \(target.origin): more than \(maxRedirects) redirects"
                )
            }
            current.totalTimeout = clock.now.duration(to: deadline)
            guard current.totalTimeout > .zero else {
                throw OutboundError(
                    code: .timeout,
                    message: "\(request.method) \(target.origin): the timeout passed while following redirects"
                )
            }
            let method = current.method.uppercased()
            if (status == 303 && method != "HEAD") || ((status == 301 || status == 302) && method == "POST") {
                current.method = "GET"
                current.body = nil
                current.headers.removeAll {
                    ["content-type", "content-length", "content-encoding"].contains($0.name.lowercased())
                }
            }
            current.url = location
            target = next
        }
    }
}
