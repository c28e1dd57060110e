// Loading an open_clip image tower from a user's safetensors file (for CLIP-S): the keys are
// open_clip's own state-dict names, under `visual.` (a whole CLIP model; the text tower's keys are
// ignored), under any longer prefix ending in `visual.` (sgm's `…open_clip.model.visual.`), or bare
// (a file holding only the tower). The architecture is read from the shapes: conv1 [W, 3, P, P],
// positional_embedding [G² + 1, W], proj [W, E], the number of `transformer.resblocks.N` and
// mlp.c_fc [M, W]; heads are W / 64 as open_clip's default head_width, except W = 1280 (ViT-H/14,
// head_width 80). The activation cannot be read from shapes (OpenAI's weights need QuickGELU,
// OpenCLIP-trained ones GELU), so the caller names it.

import Foundation
import NN
import Tensor

/// A CLIP weights file that cannot be used, naming the file and, where one is at fault, the key.
public struct CLIPWeightsError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let key: String?
    public let reason: String

    public var description: String {
        "CLIP weights \(file): " + (key.map { "key \($0): " } ?? "") + reason
    }
}

/// An image tower read from a file: the model, its config, a readable name and what was ignored.
public struct LoadedCLIPImageTower {
    public let tower: VisionTransformer
    /// "ViT-B-32", "ViT-L-14", "ViT-H-14" or "ViT-<W>-<P>" for other widths.
    public let architecture: String
    /// The key prefix the tower was found under ("visual." for a whole open_clip model).
    public let prefix: String
    /// Keys outside the tower (text tower, logit_scale), not loaded.
    public let ignoredKeyCount: Int
}

extension VisionTransformerConfig {
    /// The tower whose parameters have these shapes (keys relative to the tower), or an error
    /// naming the key that is missing or inconsistent.
    public static func inferred(fromShapes shapes: [String: [Int]], activation: Activation,
                                file: String) throws -> VisionTransformerConfig {
        func shape(_ key: String, rank: Int) throws -> [Int] {
            guard let s = shapes[key] else { throw CLIPWeightsError(file: file, key: key, reason: "missing") }
            guard s.count == rank else {
                throw CLIPWeightsError(file: file, key: key, reason: "expected rank \(rank), got shape \(s)")
            }
            return s
        }
        let conv = try shape("conv1.weight", rank: 4)
        let (width, patch) = (conv[0], conv[2])
        guard conv[1] == 3, conv[3] == patch, patch > 0 else {
            throw CLIPWeightsError(file: file, key: "conv1.weight", reason: "expected [width, 3, P, P], got \(conv)")
        }
        let positions = try shape("positional_embedding", rank: 2)
        let grid = Int(Double(max(positions[0] - 1, 0)).squareRoot().rounded())
        guard positions[1] == width, grid * grid + 1 == positions[0] else {
            throw CLIPWeightsError(file: file, key: "positional_embedding",
                                   reason: "expected [grid² + 1, \(width)], got \(positions)")
        }
        let proj = try shape("proj", rank: 2)
        guard proj[0] == width else {
            throw CLIPWeightsError(file: file, key: "proj", reason: "expected [\(width), embedding], got \(proj)")
        }
        let blockPrefix = "transformer.resblocks."
        let indices = Set(shapes.keys.compactMap { key -> Int? in
            guard key.hasPrefix(blockPrefix) else { return nil }
            return Int(key.dropFirst(blockPrefix.count).prefix { $0 != "." })
        })
        guard !indices.isEmpty, indices == Set(0..<indices.count) else {
            throw CLIPWeightsError(file: file, key: blockPrefix + "N",
                                   reason: "expected blocks 0..<n, found \(indices.sorted())")
        }
        let fc = try shape("transformer.resblocks.0.mlp.c_fc.weight", rank: 2)
        let headWidth = width == 1280 ? 80 : 64
        guard width % headWidth == 0 else {
            throw CLIPWeightsError(file: file, key: "conv1.weight", reason: "width \(width) is not a multiple of \(headWidth)")
        }
        return VisionTransformerConfig(imageSize: grid * patch, patchSize: patch, width: width,
                                       layerCount: indices.count, headCount: width / headWidth, mlpWidth: fc[0],
                                       outputWidth: proj[1], activation: activation)
    }

    /// open_clip's model name for this tower's size ("ViT-B-32", "ViT-L-14", ...).
    public var openCLIPArchitectureName: String {
        let sizes = [768: "B", 1024: "L", 1280: "H", 1664: "g", 512: "M", 384: "S"]
        let base = "ViT-\(sizes[width] ?? String(width))-\(patchSize)" + (imageSize == 224 ? "" : "-\(imageSize)")
        return activation == .quickGELU ? base + "-quickgelu" : base
    }
}

extension VisionTransformer {
    /// Reads the image tower from `url` (see the file comment for the accepted key layouts).
    /// Every tower key must be used and every parameter present with its shape; errors name the
    /// file and the keys at fault.
    public static func loadCLIPImageTower(from url: URL, activation: VisionTransformerConfig.Activation) throws
        -> LoadedCLIPImageTower {
        let file: SafeTensorsFile
        do {
            file = try SafeTensorsFile(url: url)
        } catch {
            throw CLIPWeightsError(file: url.path, key: nil, reason: "not a readable safetensors file (\(error))")
        }
        let anchor = "conv1.weight"
        let candidates = file.keys.filter { $0 == anchor || $0.hasSuffix("visual." + anchor) }
        guard let found = candidates.min(by: { $0.count < $1.count }) else {
            throw CLIPWeightsError(file: url.path, key: "visual.conv1.weight",
                                   reason: "no CLIP image tower (expected open_clip key names: visual.conv1.weight, "
                                       + "visual.class_embedding, visual.transformer.resblocks.N.*, visual.proj)")
        }
        let prefix = String(found.dropLast(anchor.count))
        var shapes: [String: [Int]] = [:]
        for key in file.keys where key.hasPrefix(prefix) {
            shapes[String(key.dropFirst(prefix.count))] = try file.info(key).shape
        }
        let config = try VisionTransformerConfig.inferred(fromShapes: shapes, activation: activation, file: url.path)
        let tower = VisionTransformer(config: config, allocation: .placeholder)  // load replaces every tensor
        var tensors: [String: Tensor] = [:]
        for key in shapes.keys {
            do {
                tensors[key] = try file.tensor(prefix + key)
            } catch {
                throw CLIPWeightsError(file: url.path, key: prefix + key, reason: "unreadable (\(error))")
            }
        }
        do {
            try tower.load(tensors)
        } catch let error as WeightLoadingError {
            let named = error.problems.map { problem in prefix.isEmpty ? problem : problem
                .replacingOccurrences(of: "key ", with: "key \(prefix)")
                .replacingOccurrences(of: "for ", with: "for \(prefix)") }
            throw CLIPWeightsError(file: url.path, key: nil,
                                   reason: "does not match open_clip's \(config.openCLIPArchitectureName) tower:\n  "
                                       + named.prefix(20).joined(separator: "\n  "))
        }
        tower.frozen()
        return LoadedCLIPImageTower(tower: tower, architecture: config.openCLIPArchitectureName, prefix: prefix,
                                    ignoredKeyCount: file.keys.count - shapes.count)
    }
}
