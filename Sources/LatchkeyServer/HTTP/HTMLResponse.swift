import Hummingbird

/// A server-rendered page as an HTTP response, with the headers every page of Latchkey carries: no caching, a content
/// security policy without scripts, no framing and no referrer.
enum HTMLResponse {
    /// `html` with `status`; forms on the page may post to `formAction` (a CSP source list).
    static func page(_ html: String, status: HTTPResponse.Status, formAction: String) -> Response {
        Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action \(formAction); frame-ancestors 'none'",
                .xFrameOptions: "DENY", .referrerPolicy: "no-referrer",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}
