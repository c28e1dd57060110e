// Ground truth rendered from meshes: a `--ground-truth` folder in the Google Scanned Objects layout
// (`<object>/meshes/model.obj`, with its .mtl and textures) is rendered by the project's renderer
// (Render.RenderJob: normalised to a unit box, white background) at the cameras of the generated
// views, into a cache folder `<cache>/<object>/NNN.png` that the folder evaluator then reads.
//
// Cameras, first found wins: the generated object folder's `cameras.json` (`OrbitCameras`, written
// by the renderer and by `svdmv generate`), an old generated folder's `orbit.json`
// (`GeneratedOrbitRecord`: per-view angles, with fov/distance/size from the protocol), or the
// protocol's orbit (views, elevation fixed or drawn per object, azimuth start, fov, distance,
// resolution).
//
// Cache: each object folder holds `render-request.json` (mesh path and size, cameras, samples);
// a folder whose request matches is reused, anything else is rendered into a hidden sibling folder
// and renamed into place, so a killed run never leaves a half-rendered object under its name.

import Cameras
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

    /// The cameras stored beside generated views in `folder` (its cameras.json, else an old
    /// generated folder's orbit.json), or nil when it has none. `fallback` supplies what orbit.json
    /// lacks (fov, distance, size).
    public static func stored(in folder: URL, fallback: EvaluationProtocol?) throws -> ViewCameras? {
        let camerasURL = folder.appendingPathComponent(OrbitCameras.fileName)
        let orbitURL = folder.appendingPathComponent(GeneratedOrbitRecord.fileName)
        do {
            if FileManager.default.fileExists(atPath: camerasURL.path) {
                let cameras = try OrbitCameras.read(camerasURL)
                let views = cameras.viewsInFileOrder
                let distances = views.map(\.distance)
                return ViewCameras(elevationsDegrees: views.map(\.elevationDeg), azimuthsDegrees: views.map(\.azimuthDeg),
                                   distance: distances[0], distances: Set(distances).count > 1 ? distances : nil,
                                   fovDegrees: cameras.fovDeg, size: cameras.width, source: camerasURL.path)
            }
            if FileManager.default.fileExists(atPath: orbitURL.path) {
                let orbit = try GeneratedOrbitRecord.read(orbitURL)
                return ViewCameras(elevationsDegrees: orbit.elevationDeg, azimuthsDegrees: orbit.azimuthDeg,
                                   distance: fallback?.distance,
                                   fovDegrees: fallback?.fovDegrees ?? RenderOptions().fovDegrees,
                                   size: fallback?.resolution ?? RenderOptions().size, source: orbitURL.path)
            }
        } catch let error as OrbitCamerasError {
            throw EvaluationError.badCameras(path: error.path, reason: error.reason)
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
           FileManager.default.fileExists(atPath: final.appendingPathComponent(OrbitCameras.fileName).path) {
            return false
        }
        let partial = cache.appendingPathComponent(".\(object).partial-\(ProcessInfo.processInfo.processIdentifier)",
                                                   isDirectory: true)
        try? FileManager.default.removeItem(at: partial)
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        do {
            var loaded = try MeshLoader.load(mesh)
            let normalization = try loaded.normalize(.objaverse, path: mesh.path)
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
