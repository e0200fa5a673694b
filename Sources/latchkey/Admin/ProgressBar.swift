/// A one-line progress bar redrawn in place (`\r`), for a terminal; or one plain line per update otherwise.
struct ProgressBar {
    let label: String
    let total: Int
    let onTerminal: Bool
    let width = 30
    let write: (String) -> Void

    /// Shows `done` of `total`.
    func update(_ done: Int) {
        guard onTerminal else {
            write("\(label) \(done)/\(total)\n")
            return
        }
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        write("\r[\(bar)] \(Int((fraction * 100).rounded(.down)))% \(label) \(done)/\(total)")
    }

    /// Ends the bar's line on a terminal.
    func finish() {
        if onTerminal { write("\n") }
    }
}
