// `svdmv weights inspect FILE`: what a safetensors checkpoint holds; `svdmv weights convert`:
// the same tensors and metadata in another dtype (e.g. F16, as the official SV3D files are).

import ArgumentParser
import Foundation
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
            abstract: "Write a safetensors file's tensors in another dtype (F32, F16 or BF16), keys and metadata unchanged (optionally adding the sampling settings `generate` should use).")

        @Argument(help: "A .safetensors file.")
        var file: String
        @Option(help: "Output .safetensors file (written atomically).")
        var out: String
        @Option(help: "Dtype of every tensor: \(DType.allCases.map(\.rawValue).joined(separator: ", ")).")
        var dtype: DType
        @Option(help: "Record in the metadata the sampler steps that `generate` uses with this checkpoint when --steps is not given.")
        var samplingSteps: Int?
        @Option(help: "Record in the metadata the guidance schedule that `generate` uses with this checkpoint when --guider is not given.")
        var samplingGuider: GuiderOption?

        func validate() throws {
            guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("no such file: \(file)") }
            guard URL(fileURLWithPath: file).standardizedFileURL != URL(fileURLWithPath: out).standardizedFileURL else {
                throw ValidationError("--out must differ from the input file (it is read while writing)")
            }
            if let samplingSteps, samplingSteps < 1 { throw ValidationError("--sampling-steps must be positive") }
        }

        func run() throws {
            let source = try SafeTensorsFile(url: URL(fileURLWithPath: file))
            let tensors = try source.tensors()
            var metadata = source.metadata ?? [:]
            if samplingSteps != nil || samplingGuider != nil {
                // Given options replace the source's recommendation field by field.
                var recommendation = try SamplingRecommendation.read(URL(fileURLWithPath: file)) ?? SamplingRecommendation()
                recommendation.steps = samplingSteps ?? recommendation.steps
                recommendation.guider = samplingGuider ?? recommendation.guider
                metadata[SamplingRecommendation.metadataKey] = try recommendation.metadataValue()
            }
            try SafeTensors.write(tensors, dtype: dtype, metadata: metadata.isEmpty ? nil : metadata, to: URL(fileURLWithPath: out))
            let bytes = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print("wrote \(out): \(tensors.count) tensors as \(dtype.rawValue), \(bytes) bytes")
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

        /// Which UNet preset the file's `model.diffusion_model.*` tensors are, by comparing every
        /// key and shape with the preset's (computed without building the network).
        func matchingUNetConfig(_ st: SafeTensorsFile) throws -> String {
            let prefix = "model.diffusion_model."
            var actual: [String: [Int]] = [:]
            for key in st.keys where key.hasPrefix(prefix) { actual[String(key.dropFirst(prefix.count))] = try st.info(key).shape }
            guard !actual.isEmpty else { return "UNet: none (no \(prefix)* tensors)" }
            let presets: [(String, VideoUNetConfig)] = [("svd / svd_xt", .svd), ("sv3d_u", .sv3dU), ("sv3d_p", .sv3dP),
                                                        ("tiny sv3d_p", .tinySV3DP), ("wide sv3d_p (the default model's)", .wideSV3DP)]
            var closest = (name: "", differences: Int.max, example: "")
            for (name, config) in presets {
                let expected = Dictionary(uniqueKeysWithValues: VideoUNet.parameterShapes(config).map { ($0.key, $0.shape) })
                let missing = expected.keys.filter { actual[$0] == nil }.sorted()
                let unexpected = actual.keys.filter { expected[$0] == nil }.sorted()
                let misshaped = expected.keys.filter { actual[$0] != nil && actual[$0] != expected[$0] }.sorted()
                let differences = missing.count + unexpected.count + misshaped.count
                if differences == 0 { return "UNet: matches \(name) (all \(expected.count) keys and shapes)" }
                if differences < closest.differences {
                    let example = missing.first.map { "missing \($0)" } ?? unexpected.first.map { "unexpected \($0)" }
                        ?? misshaped.first.map { "\($0) is \(actual[$0]!), expected \(expected[$0]!)" } ?? ""
                    closest = (name, differences, example)
                }
            }
            return "UNet: no preset matches; closest \(closest.name) with \(closest.differences) differences (e.g. \(closest.example))"
        }
    }
}
