import Foundation
import LatchkeyFuzzing

// Built by `make fuzz` with `-sanitize=fuzzer,address -DFUZZING`, `main` hands libFuzzer's driver the target that
// `LATCHKEY_FUZZ_TARGET` names. Built without them, it replays the files given as arguments through that target.

/// The target `LATCHKEY_FUZZ_TARGET` names.
func selectedTarget() -> FuzzTarget {
    let name = ProcessInfo.processInfo.environment["LATCHKEY_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("LATCHKEY_FUZZ_TARGET must name one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}

#if FUZZING
/// The target under fuzzing, chosen once before the driver starts.
nonisolated(unsafe) var fuzzedTarget = FuzzTarget.manifest

/// libFuzzer's driver (`-sanitize=fuzzer` links it). SwiftPM names an executable's own `main`, so the driver's `main`
/// is not used: this one calls the driver, which is what libFuzzer offers for that case.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ testOneInput: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// One input: a finding stops the run as a crash, which libFuzzer writes out. (libFuzzer's driver also links against
/// this name.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    if let finding = fuzzedTarget.run(bytes) { fatalError("fuzz finding: \(finding)") }
    return 0
}

@main
struct FuzzDriver {
    static func main() {
        fuzzedTarget = selectedTarget()
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv) { start, count in fuzzOne(start, count) })
    }
}
#else
@main
struct ReplayFuzzInputs {
    static func main() throws {
        let target = selectedTarget()
        var findings = 0
        for path in CommandLine.arguments.dropFirst() {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            if let finding = target.run(bytes) {
                findings += 1
                print("\(path): \(finding)")
            }
        }
        exit(findings == 0 ? 0 : 1)
    }
}
#endif
