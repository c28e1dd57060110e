// One object, start to finish: load, normalise, plan the orbit, render the views in parallel,
// write `000.png`..., optional `000-depth.png` / `000-normal.png` (and `000-white.png` under a
// random-colour background), and `cameras.json` last (its presence marks the object finished).
// Every file goes through `writeAtomically`.

import Cameras
import Dispatch
import FileSupport
import Foundation
import Imaging
import SeededRandom

public struct RenderJob {
    public var input: URL
    public var objectID: String
    public var outputFolder: URL
    public var options: RenderOptions

    public init(input: URL, objectID: String, outputFolder: URL, options: RenderOptions) {
        self.input = input
        self.objectID = objectID
        self.outputFolder = outputFolder
        self.options = options
    }

    /// Whether a previous run finished this object.
    public var isFinished: Bool {
        FileManager.default.fileExists(atPath: outputFolder.appendingPathComponent(OrbitCameras.fileName).path)
    }

    /// Loads and renders the object, writing every output. Returns the warnings.
    @discardableResult
    public func run() throws -> [String] {
        var loaded = try MeshLoader.load(input)
        let (scale, offset) = try loaded.normalize(options.normalization, path: input.path)
        try render(loaded.mesh, normalization: (scale, offset), convertedYUp: loaded.convertedYUp,
                   warnings: loaded.warnings)
        return loaded.warnings
    }

    /// Renders an already normalised mesh (tests build meshes by hand and come in here).
    /// `cameras` replaces the planned orbit (the evaluator renders ground truth at the cameras of
    /// generated views); nil plans it from `options`.
    public func render(_ mesh: Mesh, normalization: (scale: Double, offset: SIMD3<Double>) = (1, .zero),
                       convertedYUp: Bool = false, warnings: [String] = [], cameras given: [Camera]? = nil) throws {
        let elevation = given?.first?.elevationDegrees
            ?? Orbit.elevation(options.elevation, seed: options.seed, objectID: objectID)
        let distance = given?.first?.distance
            ?? options.distance ?? Orbit.fittedDistance(radius: mesh.radius, fovDegrees: options.fovDegrees)
        let dynamic = given == nil && options.orbit == .dynamic
            ? DynamicOrbit.draw(views: options.views, meanElevation: elevation, azimuthStart: options.azimuthStart,
                                seed: options.seed, objectID: objectID) : nil
        let cameras = given ?? dynamic?.cameras(distance: distance, fovDegrees: options.fovDegrees, size: options.size)
            ?? Orbit.cameras(views: options.views, elevation: elevation,
                             azimuthStart: options.azimuthStart, distance: distance,
                             fovDegrees: options.fovDegrees, size: options.size)
        let depthEncoding = options.writeDepth ? DepthEncoding.around(distance: distance) : nil
        var shader = Shader(mesh: mesh)
        shader.appliesOcclusionTextures = options.occlusionTextures
        let environment = try options.lighting.choice(seed: options.seed, objectID: objectID)
        if let environment { shader.environment = try EnvironmentLight(environment) }
        let s = options.supersampling
        // A random-colour background is composited here, from the transparent render, twice.
        let onColor = options.background == .randomColor
            ? RenderJob.backgroundColor(seed: options.seed, objectID: objectID) : nil
        let shaderBackground = onColor == nil ? options.background : .transparent
        var failures = [Error?](repeating: nil, count: cameras.count)
        var nonFinite = [Int](repeating: 0, count: cameras.count)
        let folder = outputFolder
        failures.withUnsafeMutableBufferPointer { failures in nonFinite.withUnsafeMutableBufferPointer { nonFinite in
            DispatchQueue.concurrentPerform(iterations: cameras.count) { k in
                let view = shader.render(cameras[k], supersampling: s, background: shaderBackground,
                                         depth: depthEncoding, normals: options.writeNormals)
                nonFinite[k] = view.nonFiniteSamples
                do {
                    let stem = RenderJob.stem(k)
                    let fast = options.pngCompression == .fast
                    if let onColor {
                        try writeAtomically(try PNG.encode(RenderJob.composite(view.color, over: onColor), fast: fast),
                                            to: folder.appendingPathComponent("\(stem).png"))
                        try writeAtomically(try PNG.encode(RenderJob.composite(view.color, over: (255, 255, 255)), fast: fast),
                                            to: folder.appendingPathComponent("\(stem)-white.png"))
                    } else {
                        try writeAtomically(try PNG.encode(view.color, fast: fast),
                                            to: folder.appendingPathComponent("\(stem).png"))
                    }
                    if let depth = view.depth {
                        try writeAtomically(try PNG.encode(depth, fast: fast),
                                            to: folder.appendingPathComponent("\(stem)-depth.png"))
                    }
                    if let normals = view.normals {
                        try writeAtomically(try PNG.encode(normals, fast: fast),
                                            to: folder.appendingPathComponent("\(stem)-normal.png"))
                    }
                } catch {
                    failures[k] = error
                }
            }
        } }
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        var warnings = warnings
        let badSamples = nonFinite.reduce(0, +)
        if badSamples > 0 { warnings.append("\(badSamples) samples shaded to NaN/inf, drawn black") }
        var record = orbitCameras(cameras: cameras, elevation: elevation, distance: distance,
                                  normalization: normalization, convertedYUp: convertedYUp,
                                  depth: depthEncoding, triangles: mesh.triangleCount, badSamples: badSamples,
                                  warnings: warnings)
        if let environment { environment.record(in: &record) }
        if options.occlusionTextures, environment != nil {
            record.lighting = (record.lighting ?? "") + "; glTF occlusion textures applied to the image-based light"
        }
        if let onColor {
            record.backgroundColor = [Int(onColor.0), Int(onColor.1), Int(onColor.2)]
            record.onWhite = OrbitCameras.AuxiliaryImages(
                file: "NNN-white.png",
                encoding: "8-bit sRGB RGB: the view composited over white in linear light (NNN.png: over background_color)")
        }
        if given == nil { record.orbit = Orbit.record(options: options, dynamic: dynamic) }
        try record.write(to: folder.appendingPathComponent(OrbitCameras.fileName))
    }

    public static func stem(_ k: Int) -> String { k < 1000 ? String(format: "%03d", k) : String(k) }

    /// The random background colour of an object (sRGB, each channel uniform in 0...255), drawn
    /// from the seed and the object's id: one colour per object, so the orbit's frames share it
    /// (a video model sees a steady background, not one that flickers from frame to frame).
    public static func backgroundColor(seed: UInt64, objectID: String) -> (UInt8, UInt8, UInt8) {
        var rng = SplitMix64(seed: seed ^ fnv1a("background:" + objectID))
        return (UInt8(rng.next() >> 56), UInt8(rng.next() >> 56), UInt8(rng.next() >> 56))
    }

    /// An RGBA render (straight alpha = coverage) over an opaque sRGB colour, mixed in linear light
    /// as the shader composites over white: covered pixels keep their colour exactly and empty
    /// ones take the background's; edge pixels may differ by one level from a render made over
    /// that colour directly (the colour and alpha were rounded to 8 bits first).
    public static func composite(_ image: Image8, over background: (UInt8, UInt8, UInt8)) -> Image8 {
        precondition(image.channels == 4, "composite needs an RGBA render")
        let decode = SRGB.decodeTable
        let under = [background.0, background.1, background.2]
        var out = Image8(width: image.width, height: image.height, channels: 3)
        for i in 0..<(image.width * image.height) {
            let alpha = image.pixels[4 * i + 3]
            for c in 0..<3 {
                out.pixels[3 * i + c] = alpha == 255 ? image.pixels[4 * i + c]
                    : alpha == 0 ? under[c]
                    : SRGB.encode(decode[Int(image.pixels[4 * i + c])] * Float(alpha) / 255
                                  + decode[Int(under[c])] * (1 - Float(alpha) / 255))
            }
        }
        return out
    }

    /// The renderer's conventions in words, recorded in every cameras.json it writes.
    static let conventions = [
        "world": "right-handed, +Z up; Y-up files turned Z-up by (x, y, z) -> (x, -z, y)",
        "camera_position": "distance * (cos(el) cos(az), cos(el) sin(az), sin(el)); az = 0 on +X, increasing towards +Y",
        "world_to_camera_opencv": "3x4 [R|t], camera x right, y down, z forward",
        "world_to_camera_opengl": "3x4 [R|t], camera x right, y up, z backward (Blender); = diag(1,-1,-1) * opencv",
        "pixels": "u right, v down, origin at the image's top-left corner, pixel centres at +0.5",
        "image": "8-bit sRGB; transparent background: RGBA, straight alpha = coverage",
    ]

    func orbitCameras(cameras: [Camera], elevation: Double, distance: Double,
                      normalization: (scale: Double, offset: SIMD3<Double>), convertedYUp: Bool,
                      depth: DepthEncoding?, triangles: Int, badSamples: Int, warnings: [String]) -> OrbitCameras {
        var record = OrbitCameras(
            objectID: objectID, width: options.size, height: options.size, fovDeg: options.fovDegrees,
            views: cameras.enumerated().map { k, camera in
                OrbitCameras.View(index: k, file: "\(RenderJob.stem(k)).png", pose: camera.pose)
            })
        record.source = input.path
        record.distance = distance
        record.elevationDeg = elevation
        record.azimuthStartDeg = options.azimuthStart
        record.samplesPerPixel = options.supersampling * options.supersampling
        record.background = options.background.rawValue
        record.seed = options.seed
        record.triangles = triangles
        record.nonFiniteSamples = badSamples
        record.conventions = RenderJob.conventions
        record.normalization = OrbitCameras.Normalization(
            scale: normalization.scale, offset: [normalization.offset.x, normalization.offset.y, normalization.offset.z],
            yUpToZUp: convertedYUp,
            rule: options.normalization.rawValue, description: options.normalization.description)
        record.lighting = Lighting.description
        record.warnings = warnings
        if let depth {
            record.depth = OrbitCameras.AuxiliaryImages(
                file: "NNN-depth.png",
                encoding: "16-bit gray; 0 = background, else z = near + (v - 1) / 65534 * (far - near), z = OpenCV camera depth",
                near: depth.near, far: depth.far)
        }
        if options.writeNormals {
            record.normals = OrbitCameras.AuxiliaryImages(
                file: "NNN-normal.png",
                encoding: "16-bit RGB world-space unit normal facing the camera, v = (n + 1) / 2 * 65535; 0 = background")
        }
        return record
    }
}
