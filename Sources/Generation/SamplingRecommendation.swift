// Sampling settings a checkpoint recommends, in its safetensors metadata under `svdmv.sampling`
// (JSON, e.g. {"guider":"none","steps":2}). `svdmv generate` uses them where its own options are
// not given: a small model trained by us may sample best with settings other than SV3D's (the
// bundled default model: Evaluation/default-model.md). Official checkpoints carry none, so they get
// SV3D's (simple_video_sample.py: 50 steps, triangle guidance).

import Diffusion
import Foundation
import Tensor

public struct SamplingRecommendation: Codable, Equatable, Sendable {
    public static let metadataKey = "svdmv.sampling"
    public var steps: Int?
    public var guider: GuidanceSchedule?

    public init(steps: Int? = nil, guider: GuidanceSchedule? = nil) {
        self.steps = steps
        self.guider = guider
    }

    /// The recommendation in a checkpoint's metadata (nil without one), or an error naming the file.
    public static func read(_ url: URL) throws -> SamplingRecommendation? {
        try read(metadata: SafeTensorsFile(url: url).metadata, path: url.path)
    }

    public static func read(metadata: [String: String]?, path: String) throws -> SamplingRecommendation? {
        guard let json = metadata?[metadataKey] else { return nil }
        do { return try JSONDecoder().decode(SamplingRecommendation.self, from: Data(json.utf8)) } catch {
            throw SamplingRecommendationError(path: path, reason: "metadata \(metadataKey) is not a sampling recommendation (\(error))")
        }
    }

    /// The metadata value `read` takes back (JSON, sorted keys).
    public func metadataValue() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

public struct SamplingRecommendationError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}
