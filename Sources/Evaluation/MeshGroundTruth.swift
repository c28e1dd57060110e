// Ground truth rendered from meshes: a `--ground-truth` folder in the Google Scanned Objects layout
// (`<object>/meshes/model.obj`, with its .mtl and textures) is rendered by the project's renderer
// (Render.RenderJob: normalised to a unit box, white background) at the cameras of the generated
// views, into a cache folder `<cache>/<object>/NNN.png` that the folder evaluator then reads.
//
// Cameras, first found wins: the generated object folder's `cameras.json` ("svdmv-orbit-cameras/1",
// written by the renderer and by `svdmv generate`: per-view elevation/azimuth/distance, fov, size), its `orbit.json`
// (`svdmv generate`'s "svdmv-generated-orbit": per-view elevation/azimuth in the same world
// convention, with fov/distance/size from the protocol), or the protocol's orbit (views, elevation
// fixed or drawn per object, azimuth start, fov, distance, resolution).
//
// Cache: each object folder holds `render-request.json` (mesh path and size, cameras, samples);
// a folder whose request matches is reused, anything else is rendered into a hidden sibling folder
// and renamed into place, so a killed run never leaves a half-rendered object under its name.

import FileSupport
import Foundation
import Render

/// The cameras of one object's views, in the renderer's convention (Render/Camera.swift).
public struct ViewCameras: Codable, Equatable, Sendable {
    public var elevationsDegrees: [Double]
    public var azimuthsDegrees: [Double]
    /// nil: fitted to the normalised mesh (Orbit.fittedDistance).
    public var distance: Double?
    /// Per-view distances when they differ (dynamic orbits); nil: `distance` for every view.
    public var distances: [Double]?
    public var fovDegrees: Double
    public var size: Int
    /// Where the cameras were read from (a file or "protocol NAME").
    public var source: String

    /// The protocol's orbit for one object (elevation drawn per object name when given as a range).
    public init(protocol p: EvaluationProtocol, object: String) {
        let elevation = p.elevationDegrees ?? Orbit.elevation(
            .range(p.elevationRangeDegrees![0], p.elevationRangeDegrees![1]), seed: 0, objectID: object)
        let cameras = Orbit.cameras(views: p.views, elevation: elevation, azimuthStart: p.azimuthStartDegrees,
                                    distance: 1, fovDegrees: p.fovDegrees, size: p.resolution)
        elevationsDegrees = cameras.map(\.elevationDegrees)
        azimuthsDegrees = cameras.map(\.azimuthDegrees)
        distance = p.distance
        fovDegrees = p.fovDegrees
        size = p.resolution
        source = "protocol \(p.name)"
    }

    public init(elevationsDegrees: [Double], azimuthsDegrees: [Double], distance: Double?, distances: [Double]? = nil,
                fovDegrees: Double, size: Int, source: String) {
        self.elevationsDegrees = elevationsDegrees
        self.azimuthsDegrees = azimuthsDegrees
        self.distance = distance
        self.distances = distances
        self.fovDegrees = fovDegrees
        self.size = size
        self.source = source
    }

    /// The cameras stored beside generated views in `folder`, or nil when it has none.
    /// `fallback` supplies what `orbit.json` lacks (fov, distance, size).
    public static func stored(in folder: URL, fallback: EvaluationProtocol?) throws -> ViewCameras? {
        let camerasURL = folder.appendingPathComponent(RenderJob.camerasFile)
        let orbitURL = folder.appendingPathComponent("orbit.json")
        func object(_ url: URL) throws -> [String: Any] {
            guard let json = try? JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw EvaluationError.badCameras(path: url.path, reason: "not a JSON object")
            }
            return json
        }
        func numbers(_ value: Any?, _ url: URL, _ key: String) throws -> [Double] {
            let list = value as? [Any] ?? []
            let values = list.compactMap { ($0 as? NSNumber)?.doubleValue }
            guard !values.isEmpty, values.count == list.count else {
                throw EvaluationError.badCameras(path: url.path, reason: "\(key) must be a list of numbers")
            }
            return values
        }
        if FileManager.default.fileExists(atPath: camerasURL.path) {
            let json = try object(camerasURL)
            // The schema of MultiViewData.RenderCameras (written by the renderer and by `svdmv
            // generate`): per-view file, elevation_deg, azimuth_deg, distance; fov_deg, width.
            guard json["format"] as? String == "svdmv-orbit-cameras/1", let views = json["views"] as? [[String: Any]],
                  let fov = (json["fov_deg"] as? NSNumber)?.doubleValue, let size = json["width"] as? Int else {
                throw EvaluationError.badCameras(path: camerasURL.path,
                                                 reason: "expected format svdmv-orbit-cameras/1 with views, fov_deg, width")
            }
            // Views in the order of their numbered files (000.png ...), else as listed.
            func index(_ view: [String: Any]) -> Int? {
                (view["file"] as? String).flatMap { Int(URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent) }
            }
            let ordered = views.allSatisfy { index($0) != nil }
                ? views.sorted { index($0)! < index($1)! } : views
            let distances = try numbers(ordered.map { $0["distance"] ?? json["distance"] as Any }, camerasURL, "views[].distance")
            return ViewCameras(elevationsDegrees: try numbers(ordered.map { $0["elevation_deg"] as Any }, camerasURL, "views[].elevation_deg"),
                               azimuthsDegrees: try numbers(ordered.map { $0["azimuth_deg"] as Any }, camerasURL, "views[].azimuth_deg"),
                               distance: distances[0], distances: Set(distances).count > 1 ? distances : nil,
                               fovDegrees: fov, size: size, source: camerasURL.path)
        }
        if FileManager.default.fileExists(atPath: orbitURL.path) {
            let json = try object(orbitURL)
            let elevations = try numbers(json["elevation_deg"], orbitURL, "elevation_deg")
            let azimuths = try numbers(json["azimuth_deg"], orbitURL, "azimuth_deg")
            guard elevations.count == azimuths.count else {
                throw EvaluationError.badCameras(path: orbitURL.path, reason: "elevation_deg and azimuth_deg differ in length")
            }
            return ViewCameras(elevationsDegrees: elevations, azimuthsDegrees: azimuths, distance: fallback?.distance,
                               fovDegrees: fallback?.fovDegrees ?? RenderOptions().fovDegrees,
                               size: fallback?.resolution ?? RenderOptions().size, source: orbitURL.path)
        }
        return nil
    }
}

public enum MeshGroundTruth {
    /// `<root>/<object>/meshes/model.obj`, the GSO layout.
    public static func meshFile(root: URL, object: String) -> URL {
        root.appendingPathComponent(object, isDirectory: true).appendingPathComponent("meshes/model.obj")
    }

    /// Whether `root` is a GSO-style mesh folder (some object folder holds meshes/model.obj).
    public static func isMeshLayout(_ root: URL) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.contains { !$0.hasPrefix(".") && FileManager.default.fileExists(atPath: meshFile(root: root, object: $0).path) }
    }

    /// Object folders of a mesh root (those holding meshes/model.obj), sorted.
    public static func objects(in root: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .filter { !$0.hasPrefix(".") && FileManager.default.fileExists(atPath: meshFile(root: root, object: $0).path) }
            .sorted()
    }

    static let requestFile = "render-request.json"

    struct Request: Codable, Equatable {
        var mesh: String
        var meshBytes: Int
        var cameras: ViewCameras
        var samples: Int
        var background: String
    }

    /// Renders `object`'s mesh at `cameras` into `<cache>/<object>/` unless an identical render is
    /// there; returns whether it rendered.
    @discardableResult
    public static func render(object: String, mesh: URL, cameras: ViewCameras, cache: URL,
                              samples: Int = 4) throws -> Bool {
        let bytes = (try? FileManager.default.attributesOfItem(atPath: mesh.path)[.size] as? Int) ?? -1
        let request = Request(mesh: mesh.path, meshBytes: bytes, cameras: cameras, samples: samples, background: "white")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let requestData = try encoder.encode(request)
        let final = cache.appendingPathComponent(object, isDirectory: true)
        if let old = try? Data(contentsOf: final.appendingPathComponent(requestFile)),
           (try? JSONDecoder().decode(Request.self, from: old)) == request,
           FileManager.default.fileExists(atPath: final.appendingPathComponent(RenderJob.camerasFile).path) {
            return false
        }
        let partial = cache.appendingPathComponent(".\(object).partial-\(ProcessInfo.processInfo.processIdentifier)",
                                                   isDirectory: true)
        try? FileManager.default.removeItem(at: partial)
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        do {
            var loaded = try MeshLoader.load(mesh)
            let normalization = try loaded.mesh.normalize(path: mesh.path)
            let distance = cameras.distance ?? Orbit.fittedDistance(radius: loaded.mesh.radius, fovDegrees: cameras.fovDegrees)
            let views = zip(cameras.elevationsDegrees, cameras.azimuthsDegrees).enumerated().map { k, angles in
                Camera(elevationDegrees: angles.0, azimuthDegrees: angles.1, distance: cameras.distances?[k] ?? distance,
                       fovDegrees: cameras.fovDegrees, width: cameras.size, height: cameras.size)
            }
            var options = RenderOptions()
            options.views = views.count
            options.size = cameras.size
            options.fovDegrees = cameras.fovDegrees
            options.distance = distance
            options.elevation = .fixed(views.first?.elevationDegrees ?? 0)
            options.azimuthStart = views.first?.azimuthDegrees ?? 0
            options.background = .white
            options.samples = samples
            let job = RenderJob(input: mesh, objectID: object, outputFolder: partial, options: options)
            try job.render(loaded.mesh, normalization: normalization, convertedYUp: loaded.convertedYUp,
                           warnings: loaded.warnings, cameras: views)
            try writeAtomically(requestData, to: partial.appendingPathComponent(requestFile))
            try? FileManager.default.removeItem(at: final)
            try FileManager.default.moveItem(at: partial, to: final)
        } catch {
            try? FileManager.default.removeItem(at: partial)
            throw error
        }
        return true
    }
}
