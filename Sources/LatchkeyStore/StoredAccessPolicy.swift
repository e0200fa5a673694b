import LatchkeyModel

extension OrgAccessPolicy {
    /// The policy a row holds: each openness as its raw value (`open`, `granted`) in `read_tools` and `proxy`. Any
    /// other value fails the read with `internal_error` naming the column.
    public init(storedReadTools readTools: String, proxy: String) throws(LatchkeyError) {
        guard let readToolsOpenness = Openness(rawValue: readTools) else { throw .malformedRow(column: "read_tools") }
        guard let proxyOpenness = Openness(rawValue: proxy) else { throw .malformedRow(column: "proxy") }
        self.init(readTools: readToolsOpenness, proxy: proxyOpenness)
    }
}
