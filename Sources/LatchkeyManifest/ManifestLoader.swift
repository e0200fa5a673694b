import Foundation
import LatchkeyModel

/// Loads every `*.yaml` manifest from one or more directories.
public enum ManifestLoader {
    /// Loads all manifests. Returns them by id, or every problem found (including duplicate ids).
    public static func load(directories: [String]) -> Result<[ProviderID: ProviderManifest], ManifestErrors> {
        var manifests: [ProviderID: ProviderManifest] = [:]
        var diagnostics: [ManifestDiagnostic] = []
        for directory in directories {
            let files: [String]
            do {
                files = try FileManager.default.contentsOfDirectory(atPath: directory)
                    .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            } catch {
                diagnostics.append(ManifestDiagnostic(file: directory, line: 0, field: "(directory)", message: "cannot be read"))
                continue
            }
            for name in files {
                let path = (directory as NSString).appendingPathComponent(name)
                switch loadFile(path) {
                case .success(let manifest):
                    if let existing = manifests[manifest.id] {
                        diagnostics.append(ManifestDiagnostic(
                            file: path, line: 1, field: "id",
                            message: "provider '\(manifest.id)' is already defined in \(existing.sourcePath)"))
                    } else {
                        manifests[manifest.id] = manifest
                    }
                case .failure(let errors):
                    diagnostics += errors.diagnostics
                }
            }
        }
        return diagnostics.isEmpty ? .success(manifests) : .failure(ManifestErrors(diagnostics))
    }

    /// Loads one manifest file.
    public static func loadFile(_ path: String) -> Result<ProviderManifest, ManifestErrors> {
        guard let data = FileManager.default.contents(atPath: path), let yaml = String(data: data, encoding: .utf8) else {
            return .failure(ManifestErrors([ManifestDiagnostic(file: path, line: 0, field: "(file)", message: "cannot be read as UTF-8")]))
        }
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return ManifestParser.parse(yaml: yaml, file: path, expectedID: base)
    }
}
