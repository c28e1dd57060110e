// `svdmv shapes --out DIR --count N`: procedural training objects (OBJ + MTL) for the renderer.

import ArgumentParser
import Foundation
import Shapes

extension SVDMV {
    struct Shapes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write procedurally generated objects (coloured primitives) as OBJ + MTL for rendering.")

        @Option(help: "Output folder (one sub-folder per object).")
        var out: String
        @Option(help: "Number of objects.")
        var count = 100
        @Option(help: "First object index (objects are deterministic per seed and index).")
        var start = 0
        @Option(help: "Seed of the object family.")
        var seed: UInt64 = 0

        func validate() throws {
            guard count >= 1, start >= 0 else { throw ValidationError("--count must be positive and --start non-negative") }
        }

        func run() throws {
            let urls = try ProceduralShapes.write(seed: seed, range: start..<(start + count), to: URL(fileURLWithPath: out))
            print("wrote \(urls.count) objects to \(out)")
        }
    }
}
