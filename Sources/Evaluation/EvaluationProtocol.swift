// Evaluation protocols as files (`Evaluation/protocols/<name>.json`, format
// "svdmv-evaluation-protocol/1"): which objects, how many views, at what resolution and camera the
// ground truth is (or is rendered), the background, the input view and whether it is scored, and
// the metric settings. `svdmv evaluate --protocol NAME_OR_FILE` selects one; a name is looked up in
// the protocol folder (see `EvaluationProtocol.searchFolders`), anything with a `/` or ending in
// `.json` is read as a file.

import Foundation
import Metrics

public struct EvaluationProtocol: Codable, Equatable, Sendable {
    public static let format = "svdmv-evaluation-protocol/1"

    public var format: String
    public var name: String
    public var description: String
    /// Where the settings come from (paper, script).
    public var reference: String
    /// Object folder names to score; nil: every object folder of the ground truth.
    public var objects: [String]?
    public var views: Int
    /// Side of the square views in pixels.
    public var resolution: Int
    /// A fixed orbit elevation, or nil when drawn per object from `elevationRangeDegrees`.
    public var elevationDegrees: Double?
    /// [lo, hi]: elevation drawn per object (the renderer's seeded draw, keyed on the object name).
    public var elevationRangeDegrees: [Double]?
    /// Azimuth of view 0; view k is at start + 360 k / views (degrees, renderer convention).
    public var azimuthStartDegrees: Double
    public var fovDegrees: Double
    /// Camera distance for normalised meshes (largest side 1); nil: fitted per object.
    public var distance: Double?
    /// "white": both sides composited on white (the only background the evaluator scores on).
    public var background: String
    /// The conditioning view's index.
    public var inputView: Int
    /// Whether the input view is scored (SyncDreamer scores it; excluded otherwise).
    public var scoreInputView: Bool
    public var lpips: LPIPSNet
    public var ssim: SSIMConvention
    /// nil: derived per image pair (torchmetrics' default).
    public var ssimDataRange: Double?
    /// What the protocol says about CLIP-S (model, preprocessing); informational.
    public var clipScore: String
    public var notes: [String]

    enum CodingKeys: String, CodingKey {
        case format, name, description, reference, objects, views, resolution
        case elevationDegrees = "elevation_deg", elevationRangeDegrees = "elevation_range_deg"
        case azimuthStartDegrees = "azimuth_start_deg", fovDegrees = "fov_deg", distance, background
        case inputView = "input_view", scoreInputView = "score_input_view", lpips, ssim
        case ssimDataRange = "ssim_data_range", clipScore = "clip_score", notes
    }

    /// The views scored on both sides.
    public var excludedViews: [Int] { scoreInputView ? [] : [inputView] }

    /// Checks the fields a file can get wrong; errors name the file.
    func validated(file: String) throws -> EvaluationProtocol {
        func bad(_ reason: String) -> EvaluationError { .badProtocol(path: file, reason: reason) }
        guard format == Self.format else { throw bad("format is \"\(format)\", expected \"\(Self.format)\"") }
        guard views >= 1, resolution >= 16 else { throw bad("views must be >= 1 and resolution >= 16") }
        guard (elevationDegrees == nil) != (elevationRangeDegrees == nil) else {
            throw bad("give exactly one of elevation_deg and elevation_range_deg")
        }
        if let r = elevationRangeDegrees, r.count != 2 || r[0] > r[1] {
            throw bad("elevation_range_deg must be [lo, hi]")
        }
        guard background == "white" else { throw bad("background \"\(background)\": only \"white\" is supported") }
        guard (0..<views).contains(inputView) else { throw bad("input_view \(inputView) is not in 0..<\(views)") }
        guard fovDegrees > 0, fovDegrees < 180 else { throw bad("fov_deg must be in (0, 180)") }
        if let d = distance, !(d > 0) { throw bad("distance must be positive") }
        if let r = ssimDataRange, !(r > 0) { throw bad("ssim_data_range must be positive") }
        return self
    }

    /// Reads and checks a protocol file.
    public static func load(file url: URL) throws -> EvaluationProtocol {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw EvaluationError.badProtocol(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        do {
            return try JSONDecoder().decode(EvaluationProtocol.self, from: data).validated(file: url.path)
        } catch let error as EvaluationError {
            throw error
        } catch let DecodingError.keyNotFound(key, _) {
            throw EvaluationError.badProtocol(path: url.path, reason: "missing key \(key.stringValue)")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw EvaluationError.badProtocol(path: url.path, reason: "bad value at \(path): \(context.debugDescription)")
        } catch let DecodingError.dataCorrupted(context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw EvaluationError.badProtocol(path: url.path,
                                              reason: "bad value\(path.isEmpty ? "" : " at " + path): \(context.debugDescription)")
        } catch {
            throw EvaluationError.badProtocol(path: url.path, reason: "\(error)")
        }
    }

    /// Where protocol names are looked up: `$SVDMV_PROTOCOLS_DIR`, then the protocols bundled
    /// with the program (`bundledFolder`).
    public static var searchFolders: [URL] {
        var folders: [URL] = []
        if let dir = ProcessInfo.processInfo.environment["SVDMV_PROTOCOLS_DIR"], !dir.isEmpty {
            folders.append(URL(fileURLWithPath: dir, isDirectory: true))
        }
        if let bundled = bundledFolder { folders.append(bundled) }
        return folders
    }

    /// The protocols shipped as a resource of this library (`Sources/Evaluation/Protocols`, which
    /// `Evaluation/protocols` links to): SwiftPM's resource folder beside the executable, which
    /// travels with an installed binary. Looked up by hand rather than through `Bundle.module`,
    /// which stops the program when the folder is missing.
    public static var bundledFolder: URL? {
        guard let executable = Bundle.main.executableURL?.resolvingSymlinksInPath() else { return nil }
        let folder = executable.deletingLastPathComponent()
            .appendingPathComponent("SVDMV_Evaluation.resources/Protocols", isDirectory: true)
        return FileManager.default.fileExists(atPath: folder.path) ? folder : nil
    }

    /// Protocol names (file stems) in `folders`, sorted.
    public static func knownNames(in folders: [URL] = searchFolders) -> [String] {
        let names = folders.flatMap { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
                .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }
        }
        return Array(Set(names)).sorted()
    }

    /// A protocol by name (looked up in `folders`) or by file path.
    public static func named(_ nameOrFile: String, in folders: [URL] = searchFolders) throws -> EvaluationProtocol {
        if nameOrFile.contains("/") || nameOrFile.hasSuffix(".json") {
            return try load(file: URL(fileURLWithPath: nameOrFile))
        }
        for folder in folders {
            let url = folder.appendingPathComponent(nameOrFile + ".json")
            if FileManager.default.fileExists(atPath: url.path) { return try load(file: url) }
        }
        throw EvaluationError.unknownProtocol(name: nameOrFile, known: knownNames(in: folders),
                                              searched: folders.map(\.path))
    }
}
