import ArgumentParser
import Foundation
import LatchkeyManifest

/// `latchkey providers ...`
struct ProvidersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers", abstract: "Work with provider manifests.", subcommands: [Validate.self])

    /// `latchkey providers validate [DIR ...]`: one `file:line: field: message` line per problem; exit 1 on any.
    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check provider manifests and print every problem.")

        @Argument(help: "Directories (or single .yaml files) to check. Default: providers")
        var paths: [String] = []

        func run() async throws {
            let targets = paths.isEmpty ? ["providers"] : paths
            var diagnostics: [ManifestDiagnostic] = []
            var directories: [String] = []
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
                    if case .failure(let errors) = ManifestLoader.loadFile(path) { diagnostics += errors.diagnostics }
                }
            }
            if !directories.isEmpty {
                switch ManifestLoader.load(directories: directories) {
                case .success(let manifests): count += manifests.count
                case .failure(let errors): diagnostics += errors.diagnostics
                }
            }
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
