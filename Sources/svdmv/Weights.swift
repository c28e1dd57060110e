// `svdmv weights inspect FILE`: what a safetensors checkpoint holds.

import ArgumentParser
import Foundation
import Tensor

extension SVDMV {
    struct Weights: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect model checkpoints.", subcommands: [Inspect.self])
    }
}

extension SVDMV.Weights {
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a safetensors file's tensors (key, dtype, shape) grouped by top-level prefix.")

        @Argument(help: "A .safetensors file.")
        var file: String
        @Option(help: "Only keys starting with this prefix.")
        var prefix: String?
        @Flag(help: "Print every tensor, not only the per-prefix summary.")
        var all = false

        func validate() throws {
            guard FileManager.default.fileExists(atPath: file) else {
                throw ValidationError("no such file: \(file)")
            }
        }

        func run() throws {
            let st = try SafeTensorsFile(url: URL(fileURLWithPath: file))
            let keys = st.keys.filter { prefix == nil || $0.hasPrefix(prefix!) }
            var groups: [String: (tensors: Int, parameters: Int, dtypes: Set<String>)] = [:]
            var total = 0
            for key in keys {
                let info = try st.info(key)
                // Group by the first three key components (e.g. model.diffusion_model.input_blocks).
                let group = key.split(separator: ".").prefix(3).joined(separator: ".")
                var g = groups[group] ?? (0, 0, [])
                g.tensors += 1; g.parameters += info.count; g.dtypes.insert(info.dtype.rawValue)
                groups[group] = g
                total += info.count
                if all { print("\(key)\t\(info.dtype.rawValue)\t\(info.shape)") }
            }
            if let metadata = st.metadata, !metadata.isEmpty {
                print("metadata: " + metadata.keys.sorted().map { "\($0)=\(metadata[$0]!)" }.joined(separator: ", "))
            }
            print("prefix\ttensors\tparameters\tdtypes")
            for name in groups.keys.sorted() {
                let g = groups[name]!
                print("\(name)\t\(g.tensors)\t\(g.parameters)\t\(g.dtypes.sorted().joined(separator: ","))")
            }
            print("total: \(keys.count) tensors, \(total) parameters")
        }
    }
}
