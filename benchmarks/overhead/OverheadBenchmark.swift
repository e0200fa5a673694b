import Foundation
import Hummingbird
import LatchkeyBenchForwarding
import LatchkeyHTTP
import Logging
import NIOCore
import NIOPosix

/// What Latchkey's proxy route costs per call beyond a bare forwarder's, measured in process: both routes are called
/// directly (no sockets, no HTTP parsing) with an upstream that answers at once, so the CPU per call is the routes'
/// own work, without the network's scatter. Rounds alternate the two; the figures are medians over rounds.
///
///     swift run -c release latchkey-bench-overhead [--requests 200000] [--rounds 5] [--concurrency 64] [--upstream-port N]
///
/// With `--upstream-port`, both routes send their calls through the event-loop client to a real upstream on that
/// loopback port (the proxy benchmark's nginx answers as row (a) does): what differs is then each route's use of the
/// client as well.
///
/// `benchmarks/proxy/run.sh` measures the same two over the network, as rows (c) and (d).
@main
struct OverheadBenchmark {
    static func main() async throws {
        var requests = 200_000
        var rounds = 5
        var concurrency = 64
        var nioExecutor = true
        var upstreamPort: Int?
        var arguments = CommandLine.arguments.dropFirst()
        while let name = arguments.popFirst() {
            if name == "--swift-executor" {
                nioExecutor = false
                continue
            }
            guard let value = arguments.popFirst().flatMap({ Int($0) }), value > 0 else { fatalError("\(name) needs a positive number") }
            switch name {
            case "--requests": requests = value
            case "--rounds": rounds = value
            case "--concurrency": concurrency = value
            case "--upstream-port": upstreamPort = value
            default: fatalError("unknown option \(name)")
            }
        }
        // As `latchkey serve` does: Swift tasks run on NIO's event loops.
        if nioExecutor { NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() }
        var logger = Logger(label: "latchkey-bench-overhead")
        logger.logLevel = .warning
        let folder = NSTemporaryDirectory() + "latchkey-overhead-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }

        let upstream: any HTTPTransport = try upstreamPort.map { _ in try EventLoopHTTPClient(group: MultiThreadedEventLoopGroup.singleton) }
            ?? InstantUpstream()
        let port = upstreamPort ?? 9
        let latchkey = try await LatchkeyInProcess.start(folder: folder, upstream: upstream, port: port, logger: logger)
        let bareRouter = Router()
        try BareForwarding.register(on: bareRouter, transport: upstream, upstream: "http://127.0.0.1:\(port)")
        let bare = try InProcessClient(bareRouter.buildResponder(), logger: logger)
        let path = BareForwarding.prefix + "/items"
        let variants: [(String, @Sendable () async throws -> Void)] = [
            ("bare forwarder", { try await bare.get(path, key: "unused") }),
            ("Latchkey proxy", { try await latchkey.client.get(path, key: latchkey.agentKey) }),
        ]
        print(upstreamPort.map { "upstream: the event-loop client to 127.0.0.1:\($0)" } ?? "upstream: in process, answering at once")
        print("\(requests) calls per round, \(concurrency) at a time, \(rounds) rounds; CPU per call of the whole process")
        for (_, call) in variants { _ = try await cpuPerCall(requests: requests / 10, concurrency: concurrency, call) }
        var figures: [[Double]] = variants.map { _ in [] }
        for round in 1...rounds {
            var line = "round \(round):"
            for (i, (name, call)) in variants.enumerated() {
                let micros = try await cpuPerCall(requests: requests, concurrency: concurrency, call)
                figures[i].append(micros)
                line += "  \(name) \(String(format: "%.1f", micros)) µs"
            }
            print(line)
        }
        let medians = figures.map { $0.sorted()[$0.count / 2] }
        print(
            "median: bare forwarder \(String(format: "%.1f", medians[0])) µs, Latchkey proxy \(String(format: "%.1f", medians[1])) µs; "
                + "Latchkey's own work \(String(format: "%.1f", medians[1] - medians[0])) µs per call")
        latchkey.feed.cancel()
    }

    /// Makes `requests` calls, `concurrency` at a time, and returns the process's CPU time (user and system) per call
    /// in microseconds.
    static func cpuPerCall(requests: Int, concurrency: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> Double {
        let before = processCPUSeconds()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                let share = requests / concurrency + (worker < requests % concurrency ? 1 : 0)
                group.addTask { for _ in 0..<share { try await call() } }
            }
            try await group.waitForAll()
        }
        return (processCPUSeconds() - before) * 1e6 / Double(requests)
    }

    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
