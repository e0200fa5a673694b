import Foundation
import PackagePlugin

/// Makes `docs/openapi.yaml`, the one OpenAPI document, a resource of the target it is applied to (the server serves
/// it at `GET /openapi.yaml`): the build copies it into the plugin's work folder, whose outputs SwiftPM bundles.
/// There is no second copy in the sources to drift from the first.
@main
struct EmbedOpenAPIDocument: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let document = context.package.directoryURL.appending(path: "docs").appending(path: "openapi.yaml")
        let copy = context.pluginWorkDirectoryURL.appending(path: "openapi.yaml")
        return [
            .buildCommand(
                displayName: "Embedding docs/openapi.yaml", executable: URL(fileURLWithPath: "/bin/cp"),
                arguments: [document.path, copy.path], inputFiles: [document], outputFiles: [copy])
        ]
    }
}
