import LatchkeyModel

extension LatchkeyError {
    /// The error of reading a stored row whose `column` holds nothing valid (edited by hand, or damaged): the read of
    /// that row fails, instead of the process stopping or the value passing for another.
    public static func malformedRow(column: String) -> LatchkeyError {
        LatchkeyError(.internalError, "a stored row has no valid \(column); the database may have been edited by hand")
    }
}
