import Foundation

/// Writing to the terminal's streams.
enum Terminal {
    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Whether standard error is a terminal (progress bars are drawn only there).
    static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}
