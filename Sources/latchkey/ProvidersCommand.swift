import ArgumentParser
import Foundation
import LatchkeyManifest

/// `latchkey providers ...`
struct ProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers", abstract: "Work with provider manifests.", subcommands: [Validate.self, ProvidersDiscoverCommand.self])

    /// `latchkey providers validate [DIR ...]`: one `file:line: field: message` line per problem; exit 1 on any.
    /// Warnings (`field: warning: ...`, such as a manifest without an identity lookup) are printed and do not fail it.
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check provider manifests and print every problem.")

        @Argument(help: "Directories (or single .yaml files) to check. Default: providers")
        var paths: [String] = []

        func run() async throws {
            let targets = paths.isEmpty ? ["providers"] : paths
            var diagnostics: [ManifestDiagnostic] = []
            var directories: [String] = []
            var warnings: [ManifestDiagnostic] = []
            var count = 0
            for path in targets {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                    diagnostics.append(ManifestDiagnostic(file: path, line: 0, field: "(path)", message: "does not exist"))
                    continue
                }
                if isDirectory.boolValue {
                    directories.append(path)
                } else {
                    count += 1
                    switch ManifestLoader.loadFile(path) {
                    case .success(let manifest): warnings += ManifestWarnings.of(manifest)
                    case .failure(let errors): diagnostics += errors.diagnostics
                    }
                }
            }
            if !directories.isEmpty {
                switch ManifestLoader.load(directories: directories) {
                case .success(let manifests):
                    count += manifests.count
                    warnings += manifests.values.sorted { $0.id < $1.id }.flatMap(ManifestWarnings.of)
                case .failure(let errors): diagnostics += errors.diagnostics
                }
            }
            for w in warnings { print(w.description) }
            for d in diagnostics { print(d.description) }
            if diagnostics.isEmpty {
                print("ok: \(count) manifest(s) valid")
            } else {
                FileHandle.standardError.write(Data("\(diagnostics.count) problem(s) found\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
