// Meshes from assimp's test corpus (Debian's assimp-testmodels, which Scripts/setup installs), as
// the evaluator's tests lay them out.

import Foundation

public enum MeshCorpus {
    /// The corpus's OBJ folder.
    public static let objFolder = URL(fileURLWithPath: "/usr/share/assimp/models/OBJ")

    /// Writes two objects in the Google Scanned Objects layout under `root`:
    /// `box/meshes/model.obj` and the textured `spider/meshes/model.obj` with its material and
    /// textures beside it. A missing corpus is an error naming the path and the package (not a
    /// skip: its absence is a broken machine).
    public static func writeGSOLayout(at root: URL) throws {
        let box = objFolder.appendingPathComponent("box.obj")
        guard FileManager.default.fileExists(atPath: box.path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: box.path,
                NSLocalizedDescriptionKey: "assimp test corpus missing (\(box.path)): apt-get install assimp-testmodels"])
        }
        let files = ["box": ["box.obj"], "spider": ["spider.obj", "spider.mtl", "wal67ar_small.jpg", "wal69ar_small.jpg",
                                                    "SpiderTex.jpg", "drkwood2.jpg", "engineflare1.jpg"]]
        for (object, names) in files {
            let meshes = root.appendingPathComponent("\(object)/meshes")
            try FileManager.default.createDirectory(at: meshes, withIntermediateDirectories: true)
            for name in names {
                try FileManager.default.copyItem(at: objFolder.appendingPathComponent(name),
                                                 to: meshes.appendingPathComponent(name.hasSuffix(".obj") ? "model.obj" : name))
            }
        }
    }
}
