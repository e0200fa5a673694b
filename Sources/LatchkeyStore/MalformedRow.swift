import LatchkeyModel

extension LatchkeyError {
    /// The error of reading a stored row whose `column` holds nothing valid (edited by hand, or damaged): the read of
    /// that row fails, instead of the process stopping or the value passing for another.
    public static func malformedRow(column: String) -> LatchkeyError {
        LatchkeyError(.internalError, "a stored row has no valid \(column); the database may have been edited by hand")
    }

    /// The same, naming the row (`id=conn_…`, `owner=org:acme`) so that the log says which one to mend.
    public static func malformedRow(column: String, row: String?) -> LatchkeyError {
        guard let row else { return malformedRow(column: column) }
        return LatchkeyError(.internalError, "the stored row \(row) has no valid \(column); the database may have been edited by hand")
    }
}

extension OwnerRef {
    /// The owner reference a row's `column` must hold; `malformedRow` naming the column for text that is none.
    public init(stored text: String, column: String) throws(LatchkeyError) {
        guard let owner = try? OwnerRef(parsing: text) else { throw .malformedRow(column: column) }
        self = owner
    }
}
