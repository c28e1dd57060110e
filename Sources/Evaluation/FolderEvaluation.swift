// Novel-view metrics over folders of already-rendered views, following SyncDreamer's eval_nvs.py
// (liuyuan-pal/SyncDreamer): for every object folder `<root>/<object>/NNN.png` on both sides, each
// generated view is compared with the ground-truth view of the same file name. Images are
// composited on white in floating point (rgb·a + 1 − a, values /255), then scored with PSNR
// (data range 1), SSIM (by default SyncDreamer's call: torchmetrics ≤ 1.4 defaults, i.e. the valid
// region and a data-derived range; see Metrics/SSIM.swift) and LPIPS (inputs 2x − 1; VGG by default, as SyncDreamer). Means: per object over its views,
// overall over objects (never over pooled views), and per view index over objects (SV3D Fig. 5).
// CLIP-S (CLIPScore.swift) is added when a CLIP image tower is given; otherwise the report says why
// it is missing. A ground truth in the GSO mesh layout is rendered first (MeshGroundTruth.swift).
//
// Input rules: the ground-truth root defines the objects (sorted sub-folders) and each object's
// views (files named by a number, .png/.jpg/.jpeg); every one of them must exist on the generated
// side, with the same size, and no numbered view may exist on the generated side alone. Extra
// generated object folders are ignored. Any violation throws an `EvaluationError` naming the file.

import Foundation
import Imaging
import Metrics
import Render
import Tensor

public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    case notAFolder(path: String)
    case noObjects(path: String)
    case noViews(path: String)
    case missingView(path: String, groundTruth: String)
    case extraView(path: String)
    case sizeMismatch(generated: String, generatedSize: String, groundTruth: String, groundTruthSize: String)
    case unreadableImage(path: String, reason: String)
    case missingObjects(path: String, names: [String])
    case badProtocol(path: String, reason: String)
    case unknownProtocol(name: String, known: [String], searched: [String])
    case badCameras(path: String, reason: String)
    case noCameras(path: String)

    public var description: String {
        switch self {
        case .notAFolder(let p): return "not a folder: \(p)"
        case .noObjects(let p): return "no object folders in \(p) (expected <object>/000.png ...)"
        case .noViews(let p): return "no numbered views (000.png ...) in \(p)"
        case .missingView(let p, let gt): return "missing generated view \(p) (ground truth \(gt))"
        case .extraView(let p): return "generated view \(p) has no ground-truth counterpart"
        case .sizeMismatch(let g, let gs, let t, let ts):
            return "size mismatch: generated \(g) is \(gs), ground truth \(t) is \(ts)"
        case .unreadableImage(let p, let reason): return "cannot read image \(p): \(reason)"
        case .missingObjects(let p, let names):
            return "\(p) lacks the protocol's objects: \(names.joined(separator: ", "))"
        case .badProtocol(let p, let reason): return "bad evaluation protocol \(p): \(reason)"
        case .unknownProtocol(let name, let known, let searched):
            return "unknown protocol \"\(name)\"; known: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
                + " (looked in \(searched.isEmpty ? "no protocol folder" : searched.joined(separator: ", ")); "
                + "a path to a .json file works too)"
        case .badCameras(let p, let reason): return "bad cameras file \(p): \(reason)"
        case .noCameras(let p):
            return "no cameras for \(p): ground truth from meshes needs cameras.json or orbit.json there, or --protocol"
        }
    }
}

/// How views are scored.
public struct EvaluationOptions: Codable, Equatable, Sendable {
    /// View indices left out on both sides (for example 0, the conditioning view in SyncDreamer's
    /// layout; SyncDreamer itself scores all 16).
    public var excludedViews: [Int] = []
    public var lpipsNet: LPIPSNet = .vgg
    public var ssimConvention: SSIMConvention = .validRegion
    /// SSIM data range; nil derives it from each image pair (torchmetrics' default, SyncDreamer).
    public var ssimDataRange: Double? = nil

    public init(excludedViews: [Int] = [], lpipsNet: LPIPSNet = .vgg,
                ssimConvention: SSIMConvention = .validRegion, ssimDataRange: Double? = nil) {
        self.excludedViews = excludedViews
        self.lpipsNet = lpipsNet
        self.ssimConvention = ssimConvention
        self.ssimDataRange = ssimDataRange
    }
}

/// The numbers of one comparison, or a mean of several.
public struct Scores: Codable, Equatable, Sendable {
    public var psnr: Double
    public var ssim: Double
    public var lpips: Double
    public var mse: Double
    /// CLIP-S (cosine of CLIP image embeddings); nil when no CLIP tower was given (never made up).
    public var clipScore: Double?

    public init(psnr: Double, ssim: Double, lpips: Double, mse: Double, clipScore: Double? = nil) {
        self.psnr = psnr; self.ssim = ssim; self.lpips = lpips; self.mse = mse; self.clipScore = clipScore
    }

    /// Arithmetic mean of each metric (PSNR averaged in dB, as SyncDreamer does); CLIP-S only when
    /// every input has it.
    public static func mean(_ all: [Scores]) -> Scores {
        let n = Double(max(all.count, 1))
        let clip = all.compactMap(\.clipScore)
        return Scores(psnr: all.map(\.psnr).reduce(0, +) / n, ssim: all.map(\.ssim).reduce(0, +) / n,
                      lpips: all.map(\.lpips).reduce(0, +) / n, mse: all.map(\.mse).reduce(0, +) / n,
                      clipScore: !all.isEmpty && clip.count == all.count ? clip.reduce(0, +) / n : nil)
    }
}

public struct ViewResult: Codable, Equatable, Sendable {
    public var view: Int
    public var file: String
    public var scores: Scores
}

public struct ObjectResult: Codable, Equatable, Sendable {
    public var name: String
    public var mean: Scores
    public var views: [ViewResult]
}

public struct ViewIndexResult: Codable, Equatable, Sendable {
    public var view: Int
    public var objectCount: Int
    public var mean: Scores
}

public struct EvaluationReport: Codable, Equatable, Sendable {
    public var generated: String
    public var groundTruth: String
    /// The folder of ground-truth views rendered from meshes (nil when the ground truth was views).
    public var groundTruthRenders: String?
    /// The protocol's name, when one was used.
    public var protocolName: String?
    public var options: EvaluationOptions
    /// Whether and how CLIP-S was computed.
    public var clip: CLIPScoreStatus
    /// Mean over objects of the per-object means.
    public var overall: Scores
    public var objects: [ObjectResult]
    /// Mean over objects for each view index.
    public var perView: [ViewIndexResult]
}

/// Scores generated views against ground truth; see the file comment for the layout and rules.
public struct FolderEvaluator {
    public let options: EvaluationOptions
    public let lpips: LPIPS
    /// CLIP-S scorer; nil leaves CLIP-S out and records `clipMissingReason`.
    public let clip: CLIPScorer?
    public let clipMissingReason: String

    /// `lpips` must be built for `options.lpipsNet` and loaded.
    public init(options: EvaluationOptions, lpips: LPIPS, clip: CLIPScorer? = nil,
                clipMissingReason: String = CLIPScoreStatus.noWeightsReason) {
        precondition(lpips.net == options.lpipsNet, "LPIPS network \(lpips.net) but options ask for \(options.lpipsNet)")
        self.options = options
        self.lpips = lpips
        self.clip = clip
        self.clipMissingReason = clipMissingReason
    }

    var clipStatus: CLIPScoreStatus { clip?.status ?? .notComputed(clipMissingReason) }

    /// One object's views to compare: (view index, file name, generated URL, ground-truth URL).
    typealias ObjectPlan = (name: String, views: [(index: Int, file: String, generated: URL, groundTruth: URL)])

    /// Scores `generated` against `groundTruth`: a folder of views, or a GSO-style mesh folder
    /// (rendered into `renderCache` first at the generated views' cameras or the protocol's).
    /// `objects` (or the protocol's list) limits the objects scored. Nothing is written except
    /// the render cache; every layout and camera problem is found before any rendering or scoring.
    public func evaluate(generated: URL, groundTruth: URL, objects: [String]? = nil,
                         protocol evaluationProtocol: EvaluationProtocol? = nil, renderCache: URL? = nil,
                         progress: (String) -> Void = { _ in }) throws -> EvaluationReport {
        var objects = objects ?? evaluationProtocol?.objects
        var viewsRoot = groundTruth
        var rendersPath: String? = nil
        if MeshGroundTruth.isMeshLayout(groundTruth) {
            // The cache may hold other objects from earlier runs: score the mesh folder's.
            objects = objects ?? MeshGroundTruth.objects(in: groundTruth)
            guard let cache = renderCache else {
                throw EvaluationError.notAFolder(path: groundTruth.path + " (meshes need a render cache folder)")
            }
            try renderMeshes(generated: generated, groundTruth: groundTruth, objects: objects,
                             protocol: evaluationProtocol, cache: cache, progress: progress)
            viewsRoot = cache
            rendersPath = cache.path
        }
        var report = try evaluateViews(generated: generated, groundTruth: viewsRoot, objects: objects, progress: progress)
        report.groundTruth = groundTruth.path
        report.groundTruthRenders = rendersPath
        report.protocolName = evaluationProtocol?.name
        return report
    }

    /// Checks every object's generated folder and cameras, then renders what the cache lacks.
    func renderMeshes(generated: URL, groundTruth: URL, objects: [String]?, protocol p: EvaluationProtocol?,
                      cache: URL, progress: (String) -> Void) throws {
        let available = MeshGroundTruth.objects(in: groundTruth)
        let names = objects ?? available
        let missing = names.filter { !available.contains($0) }
        guard missing.isEmpty else {
            throw EvaluationError.missingObjects(path: groundTruth.path + " (<object>/meshes/model.obj)", names: missing)
        }
        try requireFolder(generated)
        var plans: [(object: String, cameras: ViewCameras)] = []
        for object in names {
            let genDir = generated.appendingPathComponent(object, isDirectory: true)
            try requireFolder(genDir)
            guard let cameras = try ViewCameras.stored(in: genDir, fallback: p) ?? p.map({ ViewCameras(protocol: $0, object: object) }) else {
                throw EvaluationError.noCameras(path: genDir.path)
            }
            let genViews = try numberedViews(in: genDir)
            for index in 0..<cameras.elevationsDegrees.count where !options.excludedViews.contains(index) {
                guard genViews[index] != nil else {
                    throw EvaluationError.missingView(path: genDir.appendingPathComponent(RenderJob.stem(index) + ".png").path,
                                                      groundTruth: "\(MeshGroundTruth.meshFile(root: groundTruth, object: object).path) "
                                                          + "view \(index) (cameras from \(cameras.source))")
                }
            }
            plans.append((object, cameras))
        }
        for (object, cameras) in plans {
            let rendered = try MeshGroundTruth.render(object: object, mesh: MeshGroundTruth.meshFile(root: groundTruth, object: object),
                                                      cameras: cameras, cache: cache)
            progress("\(object): ground truth \(rendered ? "rendered" : "reused from cache"), \(cameras.elevationsDegrees.count) views "
                     + "at \(cameras.size)x\(cameras.size) (cameras from \(cameras.source))")
        }
    }

    /// Scores two folders of views (see the file comment).
    public func evaluateViews(generated: URL, groundTruth: URL, objects: [String]? = nil,
                              progress: (String) -> Void = { _ in }) throws -> EvaluationReport {
        // The whole layout is checked before any image is scored, so a missing file fails fast.
        let plan = try makePlan(generated: generated, groundTruth: groundTruth, objects: objects)
        var results: [ObjectResult] = []
        for object in plan {
            let result = try score(object)
            let clipText = result.mean.clipScore.map { String(format: ", CLIP-S %.4f", $0) } ?? ""
            progress(String(format: "%@: %d views, PSNR %.3f, SSIM %.4f, LPIPS %.4f", object.name, result.views.count,
                            result.mean.psnr, result.mean.ssim, result.mean.lpips) + clipText)
            results.append(result)
        }
        var byIndex: [Int: [Scores]] = [:]
        for object in results { for v in object.views { byIndex[v.view, default: []].append(v.scores) } }
        let perView = byIndex.keys.sorted().map { i in
            ViewIndexResult(view: i, objectCount: byIndex[i]!.count, mean: Scores.mean(byIndex[i]!))
        }
        return EvaluationReport(generated: generated.path, groundTruth: groundTruth.path, groundTruthRenders: nil,
                                protocolName: nil, options: options, clip: clipStatus,
                                overall: Scores.mean(results.map(\.mean)), objects: results, perView: perView)
    }

    /// One object's views: PSNR, SSIM, LPIPS per pair, then CLIP-S with the views batched.
    func score(_ object: ObjectPlan) throws -> ObjectResult {
        var generatedViews: [Tensor] = [], groundTruthViews: [Tensor] = []
        var views: [ViewResult] = []
        for v in object.views {
            let (gen, gt) = try readPair(v.generated, v.groundTruth)
            views.append(ViewResult(view: v.index, file: v.file, scores: compare(gen, gt)))
            if clip != nil { generatedViews.append(gen); groundTruthViews.append(gt) }
        }
        if let clip {
            for (i, s) in clip.scores(generated: generatedViews, groundTruth: groundTruthViews).enumerated() {
                views[i].scores.clipScore = s
            }
        }
        return ObjectResult(name: object.name, mean: Scores.mean(views.map(\.scores)), views: views)
    }

    func makePlan(generated: URL, groundTruth: URL, objects selected: [String]? = nil) throws -> [ObjectPlan] {
        let available = try subfolders(of: groundTruth)
        let objects = selected ?? available
        let missing = objects.filter { !available.contains($0) }
        guard missing.isEmpty else { throw EvaluationError.missingObjects(path: groundTruth.path, names: missing) }
        try requireFolder(generated)
        return try objects.map { object in
            let gtDir = groundTruth.appendingPathComponent(object, isDirectory: true)
            let genDir = generated.appendingPathComponent(object, isDirectory: true)
            try requireFolder(genDir)
            let gtViews = try numberedViews(in: gtDir)
            let genViews = try numberedViews(in: genDir)
            for (index, file) in genViews.sorted(by: { $0.key < $1.key })
            where gtViews[index] == nil && !options.excludedViews.contains(index) {
                throw EvaluationError.extraView(path: genDir.appendingPathComponent(file).path)
            }
            let views = try gtViews.sorted(by: { $0.key < $1.key })
                .filter { !options.excludedViews.contains($0.key) }
                .map { index, file in
                    let gtURL = gtDir.appendingPathComponent(file)
                    guard let genFile = genViews[index] else {
                        throw EvaluationError.missingView(path: genDir.appendingPathComponent(file).path,
                                                          groundTruth: gtURL.path)
                    }
                    return (index: index, file: file, generated: genDir.appendingPathComponent(genFile),
                            groundTruth: gtURL)
                }
            guard !views.isEmpty else { throw EvaluationError.noViews(path: gtDir.path) }
            return (name: object, views: views)
        }
    }

    /// Both views of a pair, checked to have one size.
    func readPair(_ generatedURL: URL, _ groundTruthURL: URL) throws -> (Tensor, Tensor) {
        let gen = try readView(generatedURL), gt = try readView(groundTruthURL)
        guard gen.shape == gt.shape else {
            func size(_ t: Tensor) -> String { "\(t.shape[2])x\(t.shape[1])" }
            throw EvaluationError.sizeMismatch(generated: generatedURL.path, generatedSize: size(gen),
                                               groundTruth: groundTruthURL.path, groundTruthSize: size(gt))
        }
        return (gen, gt)
    }

    /// PSNR, SSIM, LPIPS and MSE of one generated view file against its ground truth (no CLIP-S).
    public func compare(_ generatedURL: URL, _ groundTruthURL: URL) throws -> Scores {
        let (gen, gt) = try readPair(generatedURL, groundTruthURL)
        return compare(gen, gt)
    }

    /// PSNR, SSIM, LPIPS and MSE of two [3, H, W] views in [0, 1].
    public func compare(_ gen: Tensor, _ gt: Tensor) -> Scores {
        let mse = meanSquaredError(gen, gt)
        let s = ssim(gen, gt, dataRange: options.ssimDataRange, convention: options.ssimConvention)
        let batch = [1] + gen.shape
        let d = lpips(gen.reshaped(batch) * 2 - 1, gt.reshaped(batch) * 2 - 1).item
        return Scores(psnr: 10 * log10(1 / mse), ssim: s, lpips: Double(d), mse: mse)
    }
}

/// An image file as [3, H, W] in [0, 1]: gray replicated, alpha composited over white in floating
/// point (rgb·a + 1 − a), as SyncDreamer's eval_nvs.py.
public func readView(_ url: URL) throws -> Tensor {
    let image: Image8
    do {
        switch url.pathExtension.lowercased() {
        case "jpg", "jpeg": image = try JPEG.read(url)
        default: image = try PNG.read(url)
        }
    } catch let error as ImageError {
        throw EvaluationError.unreadableImage(path: url.path, reason: "\(error)")
    } catch {
        throw EvaluationError.unreadableImage(path: url.path, reason: error.localizedDescription)
    }
    return viewTensor(image)
}

/// [3, H, W] in [0, 1] from an 8-bit image, composited over white (see `readView`).
public func viewTensor(_ image: Image8) -> Tensor {
    let (w, h, c) = (image.width, image.height, image.channels)
    let out = Tensor(uninitialized: [3, h, w])
    let plane = w * h
    for i in 0..<plane {
        let base = i * c
        let alpha: Float = image.hasAlpha ? Float(image.pixels[base + c - 1]) / 255 : 1
        for ch in 0..<3 {
            let v = Float(image.pixels[c >= 3 ? base + ch : base]) / 255
            out.data[ch * plane + i] = image.hasAlpha ? v * alpha + (1 - alpha) : v
        }
    }
    return out
}

func requireFolder(_ url: URL) throws {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
        throw EvaluationError.notAFolder(path: url.path)
    }
}

private func subfolders(of root: URL) throws -> [String] {
    try requireFolder(root)
    let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
    let folders = names.filter { name in
        var isDir: ObjCBool = false
        return !name.hasPrefix(".")
            && FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDir)
            && isDir.boolValue
    }.sorted()
    guard !folders.isEmpty else { throw EvaluationError.noObjects(path: root.path) }
    return folders
}

/// Files named `<number>.png|jpg|jpeg` by view index.
func numberedViews(in dir: URL) throws -> [Int: String] {
    var views: [Int: String] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
        let url = URL(fileURLWithPath: name)
        guard ["png", "jpg", "jpeg"].contains(url.pathExtension.lowercased()),
              let index = Int(url.deletingPathExtension().lastPathComponent) else { continue }
        views[index] = name
    }
    return views
}
