// `svdmv weights inspect FILE`: what a safetensors checkpoint holds; `svdmv weights convert`:
// the same tensors and metadata in another dtype (e.g. F16, as the official SV3D files are).

import ArgumentParser
import Diffusion
import Foundation
import Generation
import Models
import Tensor

extension SVDMV {
    struct Weights: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect or convert model checkpoints.", subcommands: [Inspect.self, Convert.self])
    }
}

extension DType: ExpressibleByArgument {
    /// F32, F16 or BF16, in any case.
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
}

extension SVDMV.Weights {
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a safetensors file's floating-point tensors in another dtype (F32, F16 or BF16), other tensors, keys and metadata unchanged (optionally adding the sampling settings `generate` should use).")

        @Argument(help: "A .safetensors file.")
        var file: String
        @Option(help: "Output .safetensors file (written atomically).")
        var out: String
        @Option(help: "Dtype of the floating-point tensors: \(DType.allCases.map(\.rawValue).joined(separator: ", ")).")
        var dtype: DType
        @Option(help: "Record in the metadata the sampler steps that `generate` uses with this checkpoint when --steps is not given.")
        var samplingSteps: Int?
        @Option(help: "Record in the metadata the guidance schedule that `generate` uses with this checkpoint when --guider is not given.")
        var samplingGuider: GuidanceSchedule?

        func validate() throws {
            guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("no such file: \(file)") }
            guard URL(fileURLWithPath: file).standardizedFileURL != URL(fileURLWithPath: out).standardizedFileURL else {
                throw ValidationError("--out must differ from the input file (it is read while writing)")
            }
            if let samplingSteps, samplingSteps < 1 { throw ValidationError("--sampling-steps must be positive") }
        }

        func run() throws {
            let source = try SafeTensorsFile(url: URL(fileURLWithPath: file))
            var metadata = source.metadata ?? [:]
            if samplingSteps != nil || samplingGuider != nil {
                // Given options replace the source's recommendation field by field.
                var recommendation = try SamplingRecommendation.read(URL(fileURLWithPath: file)) ?? SamplingRecommendation()
                recommendation.steps = samplingSteps ?? recommendation.steps
                recommendation.guider = samplingGuider ?? recommendation.guider
                metadata[SamplingRecommendation.metadataKey] = try recommendation.metadataValue()
            }
            let (converted, copied) = try SafeTensors.write(converting: source, to: dtype, metadata: metadata.isEmpty ? nil : metadata,
                                                            to: URL(fileURLWithPath: out))
            let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            let kept = copied > 0 ? ", \(copied) non-float tensors copied as they were" : ""
            print("wrote \(out): \(converted) tensors as \(dtype.rawValue)\(kept), \(bytes) bytes")
        }
    }

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
            if prefix == nil { print(try matchingUNetConfig(st)) }
        }

        /// Which UNet preset the file's `model.diffusion_model.*` tensors are.
        func matchingUNetConfig(_ st: SafeTensorsFile) throws -> String {
            let prefix = "model.diffusion_model."
            var shapes: [String: [Int]] = [:]
            for key in st.keys where key.hasPrefix(prefix) { shapes[String(key.dropFirst(prefix.count))] = try st.info(key).shape }
            guard !shapes.isEmpty else { return "UNet: none (no \(prefix)* tensors)" }
            return VideoUNetConfig.matchingPreset(shapes).description
        }
    }
}
