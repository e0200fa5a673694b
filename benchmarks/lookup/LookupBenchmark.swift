import Foundation
import LatchkeyCrypto
import LatchkeyModel
import LatchkeyStore
import LatchkeyStorePostgres
import LatchkeyStoreSQLite
import Logging

extension SQLiteStore: SeedableStore {}
extension PostgresStore: SeedableStore {}

/// Connection-lookup latency at a baseline size and at a large size, on SQLite and PostgreSQL, in one run:
/// the store read `ConnectionResolver` makes when its cache misses. Run by `benchmarks/lookup/run.sh`.
///
///     latchkey-bench-lookup [--engines sqlite,postgres] [--postgres-url URL] [--sqlite-dir DIR]
///                           [--baseline 1000] [--size 1000000] [--lookups 20000] [--callers 16]
@main
struct LookupBenchmark {
    struct Options {
        var engines = ["sqlite", "postgres"]
        var postgresURL: String?
        var sqliteDirectory = FileManager.default.temporaryDirectory.path
        var baseline = 1_000
        var size = 1_000_000
        var lookups = 20_000
        var callers = 16
    }

    struct Row {
        var engine: String
        var connections: Int
        var callers: Int
        var measurement: LookupMeasurement
    }

    static func main() async throws {
        let options = try parse(Array(CommandLine.arguments.dropFirst()))
        var rows: [Row] = []
        for engine in options.engines {
            rows += try await run(engine: engine, options: options)
        }
        report(rows, options: options)
    }

    static func run(engine: String, options: Options) async throws -> [Row] {
        var stores: [(world: World, store: any SeedableStore)] = []
        for (label, size) in [("baseline", options.baseline), ("large", options.size)] {
            let world = World(connections: size, start: Date(timeIntervalSince1970: 1_800_000_000))
            let store = try await open(engine, label: label, options: options)
            let vault = CredentialVault(
                keyring: try MasterKeyring(masterKeys: [1: RandomToken.bytes(32)]), dataKeys: store, cache: DataKeyCache(ttl: 86_400))
            let seeder = Seeder(store: store, vault: vault, concurrency: engine == "sqlite" ? 2 : 8)
            let clock = ContinuousClock()
            let began = clock.now
            let step = max(world.connectionCount / 10, 1)
            var reportedStep = 0
            try await seeder.seed(world) { done in
                guard done / step > reportedStep else { return }
                reportedStep = done / step
                log("\(engine): seeded \(done) of \(world.connectionCount) connections in \(format(clock.now - began))")
            }
            let elapsed = clock.now - began
            log(
                "\(engine): seeded \(world.connectionCount) connections (\(world.orgs * 14) owners) in \(format(elapsed)), "
                    + "\(Int(Double(world.connectionCount) / elapsed.seconds)) connections/s")
            stores.append((world, store))
        }
        // Warm both the same way, then alternate sizes so a change in the machine's load touches both.
        for (world, store) in stores { _ = try await LookupMeasurement.run(store, world: world, lookups: 2_000, callers: 1) }
        var rows: [Row] = []
        for callers in [1, options.callers] {
            for (world, store) in stores {
                let m = try await LookupMeasurement.run(store, world: world, lookups: options.lookups, callers: callers)
                rows.append(Row(engine: engine, connections: world.connectionCount, callers: callers, measurement: m))
                log("\(engine) \(world.connectionCount) connections, \(callers) caller(s): p50 \(String(format: "%.3f", m.percentile(0.5))) ms")
            }
        }
        for (_, store) in stores { await (store as? PostgresStore)?.shutdown() }
        return rows
    }

    /// A fresh store: a new SQLite file, or a new PostgreSQL schema that must be empty.
    static func open(_ engine: String, label: String, options: Options) async throws -> any SeedableStore {
        switch engine {
        case "sqlite":
            let path = options.sqliteDirectory + "/lookup-\(label).sqlite"
            guard !FileManager.default.fileExists(atPath: path) else { throw Failure("\(path) exists: the benchmark needs a fresh database") }
            return try SQLiteStore(path: path)
        case "postgres":
            guard let url = options.postgresURL else { throw Failure("--postgres-url is required for postgres") }
            var logger = Logger(label: "latchkey.bench.lookup")
            logger.logLevel = .warning
            let store = try await PostgresStore(url: url, schema: "lookup_\(label)", maximumConnections: 20, logger: logger)
            guard try await store.connectionCountsByState().isEmpty else {
                throw Failure("schema lookup_\(label) already holds connections: the benchmark needs a fresh database")
            }
            return store
        default:
            throw Failure("unknown engine \(engine) (sqlite, postgres)")
        }
    }

    static func report(_ rows: [Row], options: Options) {
        print("")
        print("storedConnections(owners: agent chain, provider:) latency; \(options.lookups) random lookups per row")
        print(
            "engine".padding(9) + "connections".padding(12, left: true) + "callers".padding(8, left: true) + "p50 ms".padding(9, left: true)
                + "p90 ms".padding(9, left: true) + "p99 ms".padding(9, left: true) + "lookups/s".padding(11, left: true)
                + "rows/lookup".padding(12, left: true))
        for r in rows {
            let m = r.measurement
            print(
                r.engine.padding(9) + "\(r.connections)".padding(12, left: true) + "\(r.callers)".padding(8, left: true)
                    + String(format: "%9.3f%9.3f%9.3f%11.0f%12.2f", m.percentile(0.5), m.percentile(0.9), m.percentile(0.99), m.lookupsPerSecond, m.rowsPerLookup))
        }
        print("")
        print("ratio large/baseline (latency: above 1 is slower; lookups/s: below 1 is slower)")
        for engine in options.engines {
            for callers in [1, options.callers] {
                let pair = rows.filter { $0.engine == engine && $0.callers == callers }.sorted { $0.connections < $1.connections }
                guard pair.count == 2 else { continue }
                let (small, large) = (pair[0].measurement, pair[1].measurement)
                print(
                    "\(engine.padding(9))\(callers) caller(s): p50 x\(String(format: "%.2f", large.percentile(0.5) / small.percentile(0.5)))  "
                        + "p99 x\(String(format: "%.2f", large.percentile(0.99) / small.percentile(0.99)))  "
                        + "lookups/s x\(String(format: "%.2f", large.lookupsPerSecond / small.lookupsPerSecond))")
            }
        }
    }

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw Failure("\(flag) needs a value") }
            switch flag {
            case "--engines": options.engines = value.split(separator: ",").map(String.init)
            case "--postgres-url": options.postgresURL = value
            case "--sqlite-dir": options.sqliteDirectory = value
            case "--baseline": options.baseline = try number(value, flag)
            case "--size": options.size = try number(value, flag)
            case "--lookups": options.lookups = try number(value, flag)
            case "--callers": options.callers = try number(value, flag)
            default: throw Failure("unknown option \(flag)")
            }
        }
        return options
    }

    static func number(_ text: String, _ flag: String) throws -> Int {
        guard let n = Int(text.replacingOccurrences(of: "_", with: "")), n > 0 else { throw Failure("\(flag) takes a positive number") }
        return n
    }

    static func log(_ line: String) {
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    static func format(_ d: Duration) -> String { String(format: "%.1f s", d.seconds) }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    func padding(_ width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: max(0, width - count))
        return left ? pad + self : self + pad
    }
}
