// The bundled default model (Evaluation/default-model.md): a small SV3D_p-structured model trained by
// Scripts/train-default-model, shipped as a resource of the svdmv executable with an example
// input image. Looked up by hand instead of through SwiftPM's `Bundle.module`, which stops the
// program when the resource folder is missing (for example, a binary copied elsewhere alone).

import Foundation

enum BundledResource: String {
    case defaultModel = "default-model.safetensors"
    case exampleImage = "example-input.png"

    /// `$SVDMV_RESOURCES/<name>` if that variable is set, else `<name>` in SwiftPM's resource
    /// folder beside the executable (`SVDMV_svdmv.resources`).
    func url() throws -> URL {
        var folders: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["SVDMV_RESOURCES"], !dir.isEmpty {
            folders.append(URL(fileURLWithPath: dir, isDirectory: true))
        }
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() {
            folders.append(executable.deletingLastPathComponent().appendingPathComponent("SVDMV_svdmv.resources", isDirectory: true))
        }
        for folder in folders {
            let candidate = folder.appendingPathComponent(rawValue)
            if FileManager.default.isReadableFile(atPath: candidate.path) { return candidate }
        }
        throw BundledResourceError(name: rawValue, searched: folders.map(\.path))
    }
}

struct BundledResourceError: Error, CustomStringConvertible {
    let name: String
    let searched: [String]
    var description: String {
        "the bundled \(name) was not found (looked in: \(searched.joined(separator: ", "))); "
            + "build svdmv with SwiftPM so its resource folder sits beside the executable, set SVDMV_RESOURCES, or pass --checkpoint"
    }
}
