// Which UNet preset a checkpoint holds, from its keys and shapes alone (computed without building
// the network): `svdmv weights inspect` prints it, and a user can check a file before loading it.

public extension VideoUNetConfig {
    /// The presets by name, as checkpoints of them are called.
    static let namedPresets: [(name: String, config: VideoUNetConfig)] = [
        ("svd / svd_xt", .svd), ("sv3d_u", .sv3dU), ("sv3d_p", .sv3dP),
        ("tiny sv3d_p", .tinySV3DP), ("wide sv3d_p (the default model's)", .wideSV3DP),
    ]

    enum PresetMatch: Equatable, CustomStringConvertible {
        /// Every key and shape of the preset, nothing else.
        case matches(name: String, keys: Int)
        /// The preset with the fewest differences and one of them as an example.
        case closest(name: String, differences: Int, example: String)

        public var description: String {
            switch self {
            case .matches(let name, let keys): return "UNet: matches \(name) (all \(keys) keys and shapes)"
            case .closest(let name, let differences, let example):
                return "UNet: no preset matches; closest \(name) with \(differences) differences (e.g. \(example))"
            }
        }
    }

    /// The preset whose parameters are exactly `shapes` (keys under the UNet, without the
    /// checkpoint's `model.diffusion_model.` prefix), else the closest one.
    static func matchingPreset(_ shapes: [String: [Int]]) -> PresetMatch {
        var closest = PresetMatch.closest(name: "", differences: Int.max, example: "")
        var fewest = Int.max
        for (name, config) in namedPresets {
            let expected = Dictionary(uniqueKeysWithValues: VideoUNet.parameterShapes(config).map { ($0.key, $0.shape) })
            let missing = expected.keys.filter { shapes[$0] == nil }.sorted()
            let unexpected = shapes.keys.filter { expected[$0] == nil }.sorted()
            let misshaped = expected.keys.filter { shapes[$0] != nil && shapes[$0] != expected[$0] }.sorted()
            let differences = missing.count + unexpected.count + misshaped.count
            if differences == 0 { return .matches(name: name, keys: expected.count) }
            if differences < fewest {
                let example = missing.first.map { "missing \($0)" } ?? unexpected.first.map { "unexpected \($0)" }
                    ?? misshaped.first.map { "\($0) is \(shapes[$0]!), expected \(expected[$0]!)" } ?? ""
                fewest = differences
                closest = .closest(name: name, differences: differences, example: example)
            }
        }
        return closest
    }
}
