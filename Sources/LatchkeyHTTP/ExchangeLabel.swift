/// What the event-loop client's error messages call an exchange: its method and origin (`GET https://api.example.com:443`),
/// put into words only when a message is written rather than on every call (building it was 1 % of the proxy's CPU,
/// benchmarks/README.md).
struct ExchangeLabel: CustomStringConvertible, Sendable {
    let method: String
    let target: ParsedURL

    var description: String { "\(method) \(target.origin)" }
}
