/// A plain-text table for the admin CLI: a header row, then one row per item, columns padded to their widest cell.
struct TextTable {
    let columns: [String]
    private(set) var rows: [[String]] = []

    init(_ columns: [String]) {
        self.columns = columns
    }

    mutating func add(_ cells: [String]) {
        rows.append(cells.map { $0.replacingControlCharacters() })
    }

    /// The table, or `empty` when it has no rows.
    func render(empty: String) -> String {
        guard !rows.isEmpty else { return empty }
        let all = [columns] + rows
        let widths = columns.indices.map { i in all.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        return all.map { row in
            columns.indices.map { i in
                let cell = i < row.count ? row[i] : ""
                return i == columns.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

extension String {
    /// Control characters (a value from a provider or a person could hold any) shown as `?`, so they cannot move
    /// the terminal's cursor.
    func replacingControlCharacters() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}
