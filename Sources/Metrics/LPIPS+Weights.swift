// Loading LPIPS weights: the real v0.1 weights converted by Scripts/fetch-lpips-weights into
// `$SVDMV_LPIPS_DIR/{alex,vgg}.safetensors` (default ~/.cache/svdmv/lpips), under the `lpips`
// package's state-dict keys. Loading is strict (every key present with its shape, no unknown key);
// only the package's `lins.N.model.1.weight` aliases of `linN` are tolerated, so a raw
// `LPIPS().state_dict()` dump loads too.

import Foundation
import NN
import Tensor

public enum LPIPSWeightsError: Error, CustomStringConvertible {
    case missing(path: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "LPIPS weights not found at \(path); run Scripts/fetch-lpips-weights "
                + "(or set SVDMV_LPIPS_DIR to the folder holding alex.safetensors and vgg.safetensors)"
        case .unreadable(let path, let reason):
            return "cannot read LPIPS weights \(path): \(reason)"
        }
    }
}

extension LPIPS {
    /// Where Scripts/fetch-lpips-weights puts the weights: $SVDMV_LPIPS_DIR, else ~/.cache/svdmv/lpips.
    public static var defaultWeightsDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["SVDMV_LPIPS_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true)
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/svdmv/lpips", isDirectory: true)
    }

    /// The weights file for `net` in `directory` (`alex.safetensors`, `vgg.safetensors`).
    public static func weightsURL(for net: LPIPSNet, in directory: URL = defaultWeightsDirectory) -> URL {
        directory.appendingPathComponent("\(net.rawValue).safetensors")
    }

    /// The network with the real v0.1 weights (ImageNet trunk + learned lin layers).
    public static func pretrained(net: LPIPSNet, directory: URL = defaultWeightsDirectory) throws -> LPIPS {
        let model = LPIPS(net: net)
        try model.load(contentsOf: weightsURL(for: net, in: directory))
        return model
    }

    /// Loads a safetensors state dict strictly; see the file comment.
    public func load(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw LPIPSWeightsError.missing(path: url.path) }
        let tensors: [String: Tensor]
        do { tensors = try SafeTensorsFile(url: url).tensors() } catch {
            throw LPIPSWeightsError.unreadable(path: url.path, reason: "\(error)")
        }
        let aliases = Set(tensors.keys.filter { $0.hasPrefix("lins.") })
        try load(tensors, ignoring: aliases)
    }
}
