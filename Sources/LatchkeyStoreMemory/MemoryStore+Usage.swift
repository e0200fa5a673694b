import Foundation
import LatchkeyModel
import LatchkeyStore

extension MemoryStore: UsageStore {
    public func addUsage(_ rows: [DailyUsage]) async throws {
        locked { state in
            for u in rows {
                var key = u
                key.calls = 0
                key.credits = 0
                var total = state.usage[key] ?? key
                total.calls += u.calls
                total.credits += u.credits
                state.usage[key] = total
            }
        }
    }

    public func usage(org: String, sinceDay: Int) async throws -> [DailyUsage] {
        locked { state in
            state.usage.values.filter { $0.org == org && $0.day >= sinceDay }.sorted {
                ($0.day, ByteOrder($0.provider.rawValue), ByteOrder($0.agent), ByteOrder($0.credentials.rawValue))
                    < ($1.day, ByteOrder($1.provider.rawValue), ByteOrder($1.agent), ByteOrder($1.credentials.rawValue))
            }
        }
    }

    public func purgeUsage(beforeDay: Int) async throws -> Int {
        locked { state in
            let old = state.usage.keys.filter { $0.day < beforeDay }
            for key in old { state.usage[key] = nil }
            return old.count
        }
    }
}
