import ArgumentParser
import Foundation
import LatchkeyAPI
import LatchkeyModel

/// `latchkey admin keys ...`: master-key status, rotation and the credential integrity check.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Master keys: status, rotation, integrity check.", subcommands: [Status.self, Rotate.self, Verify.self])

    /// `latchkey admin keys status [--json]`
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the master-key versions and the data keys each one wraps.")
        @OptionGroup var options: AdminOptions
        @Flag(help: "Print the server's JSON answer.") var json = false

        func run() async throws {
            try await AdminCommand.withClient(options) { client in
                let answer = try await client.get("/v1/admin/keys")
                if json { return print(String(decoding: answer.body, as: UTF8.self)) }
                let status = try answer.decode(KeyStatus.self)
                print("current version: \(status.currentVersion) (keys from the \(status.source))")
                print("loaded versions: \(status.loadedVersions.map(String.init).joined(separator: ", "))")
                print("data keys: \(status.dataKeys), \(status.remaining) not yet at the current version")
                for (version, count) in status.versionsInUse.sorted(by: { Int($0.key) ?? 0 < Int($1.key) ?? 0 }) {
                    print("  version \(version): \(count)")
                }
                var table = TextTable(["REPLICA", "WRAPS UNDER", "HOLDS (VERSION:FINGERPRINT)"])
                for replica in status.replicas {
                    let holds = replica.loadedVersions.sorted { Int($0.key) ?? 0 < Int($1.key) ?? 0 }.map { "\($0.key):\($0.value)" }
                    table.add([replica.address, String(replica.wrappingVersion), holds.joined(separator: " ")])
                }
                print("replicas:\n" + table.render(empty: "  (none has reported yet)"))
            }
        }
    }

    /// `latchkey admin keys rotate [--batch-size N] [--json]`: calls the rotation until every data key is re-wrapped.
    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new master-key version and re-wrap every data key under it, in batches; resumes an interrupted rotation.")
        @OptionGroup var options: AdminOptions
        @Option(help: "Data keys re-wrapped per call, 1 to 5000.") var batchSize = 500
        @Flag(help: "Print a JSON summary instead of text.") var json = false

        func run() async throws {
            guard (1...5000).contains(batchSize) else {
                Terminal.standardError("latchkey: --batch-size must be from 1 to 5000\n")
                throw ExitCode(1)
            }
            try await AdminCommand.withClient(options) { client in
                var step = try await call(client, first: true)
                var summary = RotationSummary(first: step)
                let bar = ProgressBar(
                    label: "rewrapped", total: summary.total, onTerminal: Terminal.standardErrorIsTerminal, write: Terminal.standardError)
                bar.update(summary.rewrapped)
                var stalled = 0
                while step.remaining > 0 {
                    step = try await call(client, first: false)
                    summary.add(step)
                    bar.update(summary.rewrapped)
                    // Another writer may win a compare-and-swap now and then; a rotation that never moves is stuck.
                    stalled = step.rewrapped == 0 ? stalled + 1 : 0
                    if stalled >= 5 {
                        bar.finish()
                        throw AdminClientError(.server(status: 200, code: "no_progress"), "the rotation makes no progress; \(step.remaining) data key(s) remain")
                    }
                }
                bar.finish()
                if json {
                    print(String(decoding: try JSONEncoder.sorted.encode(summary), as: UTF8.self))
                } else {
                    print(summary.text)
                }
            }
        }

        /// One call: the first may start a new version (when none is in progress); the others only carry on.
        func call(_ client: AdminClient, first: Bool) async throws -> RotationReport {
            var body: [String: JSONValue] = ["batch_size": .number(Double(batchSize))]
            if !first { body["new_version"] = .bool(false) }
            return try await client.post("/v1/admin/keys/rotate", body: .object(body)).decode(RotationReport.self)
        }
    }

    /// `latchkey admin keys verify [--json]`: exit 1 when any credential fails.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open every stored credential and list those that fail their integrity check (exit 1 when any does).")
        @OptionGroup var options: AdminOptions
        @Flag(help: "Print the server's JSON answer.") var json = false

        func run() async throws {
            var failed = false
            try await AdminCommand.withClient(options) { client in
                let answer = try await client.post("/v1/admin/keys/verify")
                let report = try answer.decode(IntegrityReport.self)
                failed = report.ok != report.checked
                if json { return print(String(decoding: answer.body, as: UTF8.self)) }
                print("checked \(report.checked) credential(s): \(report.ok) ok, \(report.checked - report.ok) failed")
                for failure in report.failed { print("  \(failure.connection): \(failure.code): \(failure.message)") }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, for stable output.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
