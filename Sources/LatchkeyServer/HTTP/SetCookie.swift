import HTTPTypes
import LatchkeyConnect

/// `Set-Cookie` fields for Latchkey's own cookies. Every one is `HttpOnly`, and `Secure` when Latchkey is served over
/// https, so no page script reads a session or a flow binding and no plain-http hop carries one.
enum SetCookie {
    /// `Strict` for sessions; `Lax` where a provider's cross-site top-level redirect must bring the cookie back.
    enum SameSite: String {
        case strict = "Strict"
        case lax = "Lax"
    }

    /// One cookie; `maxAge: 0` deletes it.
    static func field(_ name: String, _ value: String, path: String, maxAge: Int, sameSite: SameSite, secure: Bool) -> HTTPField {
        let attributes = "Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=\(sameSite.rawValue)" + (secure ? "; Secure" : "")
        return HTTPField(name: .setCookie, value: "\(name)=\(value); \(attributes)")
    }

    /// The cookie that binds a provider flow to the browser that began it, sent back only to `callbackPath`.
    static func flowBinding(_ redirect: BrowserRedirect, callbackPath: String, maxAge: Double, secure: Bool) -> HTTPField {
        field(redirect.bindingCookieName, redirect.bindingNonce, path: callbackPath, maxAge: Int(maxAge), sameSite: .lax, secure: secure)
    }
}
