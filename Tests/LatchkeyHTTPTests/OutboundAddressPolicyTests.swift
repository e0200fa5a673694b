import Foundation
import LatchkeyHTTP
import Testing

/// URLs a third party's metadata names reach only public addresses (and loopback), unless an admin allows a network:
/// checked on each resolved address before a socket is opened.
@Suite struct OutboundAddressPolicyTests {
    static let publicOnly = OutboundAddressPolicy.publicOnly(allowing: [])

    @Test(arguments: [
        "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
        "255.255.255.255", "fd00:ec2::254", "fe80::1", "::", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe",
    ])
    func internalAddressesAreRefused(address: String) throws {
        let bytes = try #require(AddressRange(address)?.network)
        #expect(!Self.publicOnly.admits(bytes))
        #expect(OutboundAddressPolicy.any.admits(bytes))
    }

    @Test(arguments: ["8.8.8.8", "172.32.0.1", "192.169.0.1", "127.0.0.1", "::1", "2606:4700::1111", "::ffff:8.8.8.8", "11.0.0.1"])
    func publicAndLoopbackAddressesAreAdmitted(address: String) throws {
        #expect(Self.publicOnly.admits(try #require(AddressRange(address)?.network)))
    }

    @Test func anAllowedNetworkIsAdmittedAndNothingAroundIt() throws {
        let policy = OutboundAddressPolicy.publicOnly(allowing: [try #require(AddressRange("10.20.0.0/16"))])
        #expect(policy.admits(try #require(AddressRange("10.20.3.4")?.network)))
        #expect(!policy.admits(try #require(AddressRange("10.21.0.1")?.network)))
        #expect(!policy.admits(try #require(AddressRange("169.254.169.254")?.network)))
    }

    @Test(arguments: [
        "10.0.0.0/33", "10.0.0/8", "not-an-address", "fd00::/129", "010.0.0.1/8", "", "256.0.0.1", "1.2.3.4.5", "1..2.3",
        "1.2.3.", ".1.2.3", "1.2.3.04", "1.2.3.1000", "1.2.3.-1", "1.2.3.4 ",
    ])
    func aMalformedNetworkDoesNotParse(text: String) {
        #expect(AddressRange(text) == nil)
    }

    @Test(arguments: [("0.0.0.0", [0, 0, 0, 0]), ("127.0.0.1", [127, 0, 0, 1]), ("255.255.255.255", [255, 255, 255, 255]), ("10.20.30.40", [10, 20, 30, 40])])
    func aDottedQuadReadsAsItsFourOctets(text: String, octets: [UInt8]) {
        #expect(AddressRange.bytes(of: text) == octets)
    }

    @Test(arguments: Client.allCases, ["https://169.254.169.254/latest/meta-data/", "https://10.255.255.1/mcp", "https://[fd00:ec2::254]/"])
    func aRequestToARefusedAddressFailsBeforeAnySocketIsOpened(_ kind: Client, url: String) async throws {
        let client = kind.make()
        let error = await #expect(throws: OutboundError.self) {
            try await client.send(OutboundRequest(url: url, connectTimeout: .seconds(30), addressPolicy: Self.publicOnly))
        }
        #expect(error?.code == .refusedAddress)
        #expect(error?.message.contains("private, link-local or reserved") == true)
    }

    @Test(arguments: Client.allCases) func loopbackStillServesUnderThePolicy(_ kind: Client) async throws {
        let server = try await LoopbackServer.start()
        defer { server.stop() }
        let response = try await kind.make().send(
            OutboundRequest(url: "http://127.0.0.1:\(server.port)/echo", addressPolicy: Self.publicOnly))
        #expect(response.status == 200)
    }
}
