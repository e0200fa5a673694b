/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
public enum Origin {
    /// The lower-cased origin, or nil for anything but an absolute http(s) URL without userinfo.
    public static func of(_ url: String) -> String? {
        let lower = url.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = url.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        return "\(scheme)://\(authority.lowercased())"
    }
}
