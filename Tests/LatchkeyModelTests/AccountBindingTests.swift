import LatchkeyModel
import Testing

@Suite struct AccountBindingTests {
    static let alice = AccountIdentity(id: "1001", name: "Alice Example")

    @Test(arguments: [
        (bound: alice, finished: AccountIdentity(id: "1001", name: "Alice Example"), refused: false),
        (bound: alice, finished: AccountIdentity(id: "1001", name: "Alice Renamed"), refused: false),
        (bound: alice, finished: AccountIdentity(id: "1002", name: "Alice Example"), refused: true),
        (bound: alice, finished: AccountIdentity(id: "1002", name: "Bob Example"), refused: true),
    ])
    func aReconnectKeepsTheAccountByItsProviderID(bound: AccountIdentity, finished: AccountIdentity, refused: Bool) {
        do {
            try AccountBinding.check(bound: bound, finished: finished)
            #expect(!refused)
        } catch {
            #expect(refused)
            #expect(error.code == .accountMismatch)
            #expect(error.message.contains("Alice Example"))
        }
    }

    @Test func anAccountThatCannotBeLookedUpIsNotChecked() throws {
        try AccountBinding.check(bound: nil, finished: Self.alice)
        try AccountBinding.check(bound: Self.alice, finished: nil)
    }
}
