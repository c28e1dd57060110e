// `cameras.json`: the one file format for the cameras of an orbit's views, whoever made them. The
// renderer writes it beside its renders (with how it rendered: normalisation, lighting, depth
// encoding), `svdmv generate` beside generated views (with how it sampled), and the dataset reader
// and the evaluator read it.
//
//   <folder>/000.png, 001.png, ...      one image per view, in orbit order
//   <folder>/cameras.json
//   {
//     "format": "svdmv-orbit-cameras", "version": 2,
//     "object_id": "…", "width": 576, "height": 576, "fov_deg": 33.8,
//     "K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]],              // pixels of the stored images
//     "views": [{
//        "index": 0, "file": "000.png",
//        "elevation_deg": 10.0,      // above the XY plane (+Z side) is positive
//        "azimuth_deg": 0.0,         // counter-clockwise about +Z from +X, degrees
//        "distance": 2.0,            // camera centre to the origin (the object's centre)
//        "position": [x, y, z],
//        "world_to_camera_opencv": [[r00, r01, r02, t0], [..], [..]],   // x right, y down, z forward
//        "world_to_camera_opengl": [[..], [..], [..]]                    // x right, y up, z backward (Blender)
//     }, ...],                    // K, position and the extrinsics may be left out of a hand-written
//                                 // file: they follow from the size, fov and angles
//     ... optional sections: "orbit" (the orbit's kind, a dynamic orbit's draws, which views form a
//     training sample), "normalization", "lighting", "environment" (the HDRI map, rotation and
//     intensity of image-based lighting), "depth", "normals", "background_color" and "on_white"
//     (views on a random colour, with twins on white), "warnings" (renders),
//     "generation" (generated orbits)
//   }
//
// Versions: 1 is the same schema under the format name "svdmv-orbit-cameras/1" without a version
// field (read as it is); 2 adds "version" and the "generation" section. `svdmv generate` once also
// wrote `orbit.json` ("svdmv-generated-orbit", version 1: per-view angles and the sampling
// settings); `GeneratedOrbitRecord` reads such files.

import FileSupport
import Foundation

public struct OrbitCameras: Codable, Equatable, Sendable {
    public static let fileName = "cameras.json"
    public static let formatName = "svdmv-orbit-cameras"
    /// Version 1's format field: the name with the version appended.
    public static let versionOneFormatName = "svdmv-orbit-cameras/1"
    public static let currentVersion = 2
    /// World up is +Z (Objaverse / Blender), as `OrbitGeometry.swift` states.
    public static let worldUp: [Double] = [0, 0, 1]

    public struct View: Codable, Equatable, Sendable {
        public var index: Int?
        public var file: String
        public var elevationDeg: Double
        public var azimuthDeg: Double
        public var distance: Double
        public var position: [Double]?
        public var worldToCameraOpenCV: [[Double]]
        public var worldToCameraOpenGL: [[Double]]

        public init(index: Int? = nil, file: String, elevationDeg: Double, azimuthDeg: Double, distance: Double,
                    position: [Double]? = nil, worldToCameraOpenCV: [[Double]], worldToCameraOpenGL: [[Double]]) {
            self.index = index; self.file = file; self.elevationDeg = elevationDeg; self.azimuthDeg = azimuthDeg
            self.distance = distance; self.position = position
            self.worldToCameraOpenCV = worldToCameraOpenCV; self.worldToCameraOpenGL = worldToCameraOpenGL
        }

        /// A view on the orbit with both extrinsics and its position filled in (`OrbitPose`).
        public init(index: Int? = nil, file: String, pose: OrbitPose) {
            let cv = pose.worldToCameraOpenCV
            let c = pose.position
            self.init(index: index, file: file, elevationDeg: pose.elevationDegrees, azimuthDeg: pose.azimuthDegrees,
                      distance: pose.distance, position: [c.x, c.y, c.z],
                      worldToCameraOpenCV: cv.matrix, worldToCameraOpenGL: cv.flippedYZ.matrix)
        }

        public var pose: OrbitPose { OrbitPose(elevationDegrees: elevationDeg, azimuthDegrees: azimuthDeg, distance: distance) }

        /// The extrinsics may be left out of a hand-written file: they follow from the angles and
        /// the distance (a camera on the orbit looking at the origin).
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            index = try c.decodeIfPresent(Int.self, forKey: .index)
            file = try c.decode(String.self, forKey: .file)
            elevationDeg = try c.decode(Double.self, forKey: .elevationDeg)
            azimuthDeg = try c.decode(Double.self, forKey: .azimuthDeg)
            distance = try c.decode(Double.self, forKey: .distance)
            position = try c.decodeIfPresent([Double].self, forKey: .position)
            let opencv = try c.decodeIfPresent([[Double]].self, forKey: .worldToCameraOpenCV)
            let opengl = try c.decodeIfPresent([[Double]].self, forKey: .worldToCameraOpenGL)
            let derived = (opencv == nil || opengl == nil)
                ? OrbitPose(elevationDegrees: elevationDeg, azimuthDegrees: azimuthDeg, distance: distance).worldToCameraOpenCV : nil
            worldToCameraOpenCV = opencv ?? derived!.matrix
            worldToCameraOpenGL = opengl ?? derived!.flippedYZ.matrix
        }

        enum CodingKeys: String, CodingKey {
            case index, file, distance, position
            case elevationDeg = "elevation_deg"
            case azimuthDeg = "azimuth_deg"
            case worldToCameraOpenCV = "world_to_camera_opencv"
            case worldToCameraOpenGL = "world_to_camera_opengl"
        }
    }

    /// How the renderer placed the source mesh in the world: world = scale * source_z_up + offset.
    public struct Normalization: Codable, Equatable, Sendable {
        public var scale: Double
        public var offset: [Double]
        public var yUpToZUp: Bool
        /// The box rule's name (`objaverse`, `tight-box`); version-1 files hold a sentence here.
        public var rule: String
        /// The rule in words.
        public var description: String?

        public init(scale: Double, offset: [Double], yUpToZUp: Bool, rule: String, description: String? = nil) {
            self.scale = scale; self.offset = offset; self.yUpToZUp = yUpToZUp; self.rule = rule
            self.description = description
        }

        enum CodingKeys: String, CodingKey {
            case scale, offset, rule, description
            case yUpToZUp = "y_up_to_z_up"
        }
    }

    /// Where an extra per-view image lies and how its values are encoded.
    public struct AuxiliaryImages: Codable, Equatable, Sendable {
        public var file: String
        public var encoding: String
        public var near: Double?
        public var far: Double?

        public init(file: String, encoding: String, near: Double? = nil, far: Double? = nil) {
            self.file = file; self.encoding = encoding; self.near = near; self.far = far
        }
    }

    /// How the renderer laid out the orbit (`Sources/Render/DynamicOrbit.swift` for the laws). The
    /// per-view angles are the views' own `elevation_deg` / `azimuth_deg`; this records where they
    /// came from and which views form a training sample.
    public struct OrbitPlan: Codable, Equatable, Sendable {
        /// `static` (one elevation, constant azimuth step) or `dynamic` (SV3D's orbits whose
        /// elevation wanders and whose azimuth steps are irregular).
        public var kind: String
        /// The seed the orbit's draws were keyed with (together with the object id).
        public var seed: UInt64?
        /// Views per training sample: the orbit's views form `sample_stride` interleaved samples,
        /// sample s being views s, s + stride, s + 2 stride, ... (SV3D: 84 views, 4 samples of 21).
        public var sampleViews: Int?
        public var sampleStride: Int?
        /// Dynamic orbits: elevation_deg(k) = mean_elevation_deg
        ///   + sum over elevation_terms of amplitude_deg * sin(360 deg * cycles * k / views + phase_deg).
        public var meanElevationDeg: Double?
        public var elevationTerms: [Sinusoid]?
        /// Sigma, in orbits, of the circular Gaussian the drawn elevation path was smoothed with.
        public var smoothingSigmaOrbits: Double?
        /// The band the elevations were kept in (by scaling every term by one factor).
        public var elevationLimitsDeg: [Double]?
        /// Dynamic orbits: azimuth_deg(k) = azimuth_start_deg + 360 k / views + noise_k, noise_k
        /// drawn uniformly in [-azimuth_noise_deg, azimuth_noise_deg] per view.
        public var azimuthNoiseDeg: Double?
        /// The laws in words.
        public var law: String?

        public init(kind: String, seed: UInt64? = nil, sampleViews: Int? = nil, sampleStride: Int? = nil,
                    meanElevationDeg: Double? = nil, elevationTerms: [Sinusoid]? = nil,
                    smoothingSigmaOrbits: Double? = nil, elevationLimitsDeg: [Double]? = nil,
                    azimuthNoiseDeg: Double? = nil, law: String? = nil) {
            self.kind = kind; self.seed = seed; self.sampleViews = sampleViews; self.sampleStride = sampleStride
            self.meanElevationDeg = meanElevationDeg; self.elevationTerms = elevationTerms
            self.smoothingSigmaOrbits = smoothingSigmaOrbits; self.elevationLimitsDeg = elevationLimitsDeg
            self.azimuthNoiseDeg = azimuthNoiseDeg; self.law = law
        }

        /// One term of a dynamic orbit's elevation: `cycles` whole cycles per orbit.
        public struct Sinusoid: Codable, Equatable, Sendable {
            public var cycles: Int
            /// The amplitude in the path (after smoothing and keeping to the limits).
            public var amplitudeDeg: Double
            /// The amplitude as drawn.
            public var drawnAmplitudeDeg: Double?
            public var phaseDeg: Double

            public init(cycles: Int, amplitudeDeg: Double, drawnAmplitudeDeg: Double? = nil, phaseDeg: Double) {
                self.cycles = cycles; self.amplitudeDeg = amplitudeDeg
                self.drawnAmplitudeDeg = drawnAmplitudeDeg; self.phaseDeg = phaseDeg
            }

            enum CodingKeys: String, CodingKey {
                case cycles
                case amplitudeDeg = "amplitude_deg"
                case drawnAmplitudeDeg = "drawn_amplitude_deg"
                case phaseDeg = "phase_deg"
            }
        }

        enum CodingKeys: String, CodingKey {
            case kind, seed, law
            case sampleViews = "sample_views"
            case sampleStride = "sample_stride"
            case meanElevationDeg = "mean_elevation_deg"
            case elevationTerms = "elevation_terms"
            case smoothingSigmaOrbits = "smoothing_sigma_orbits"
            case elevationLimitsDeg = "elevation_limits_deg"
            case azimuthNoiseDeg = "azimuth_noise_deg"
        }
    }

    /// The environment map an object was lit by (`svdmv render --lighting hdri FILE | hdri-random DIR`).
    public struct Environment: Codable, Equatable, Sendable {
        public var file: String
        /// The map is looked up at Rz(rotation) d for world direction d (Blender: a Mapping node of
        /// type Point with rotation (0, 0, rotation) in front of the Environment Texture).
        public var rotationDeg: Double
        /// Scale on the map's radiance (Blender's Background strength).
        public var intensity: Double
        /// The folder the map was drawn from, for `hdri-random`.
        public var folder: String?
        /// The map convention in words.
        public var mapping: String?

        public init(file: String, rotationDeg: Double, intensity: Double, folder: String? = nil, mapping: String? = nil) {
            self.file = file; self.rotationDeg = rotationDeg; self.intensity = intensity
            self.folder = folder; self.mapping = mapping
        }

        enum CodingKeys: String, CodingKey {
            case file, intensity, folder, mapping
            case rotationDeg = "rotation_deg"
        }
    }

    /// How `svdmv generate` made the views (the settings that reproduce them).
    public struct Generation: Codable, Equatable, Sendable {
        public var checkpoint: String
        public var variant: String
        public var frames: Int
        public var steps: Int
        public var seed: UInt64
        public var sampler: String
        public var sigmaMax: Float
        public var churn: Float
        public var condAug: Float
        public var startsFromInput: Bool
        public var guider: String
        /// Index of the view that is the (prepared) input image.
        public var inputView: Int
        public var inputFraming: String

        public init(checkpoint: String, variant: String, frames: Int, steps: Int, seed: UInt64, sampler: String,
                    sigmaMax: Float, churn: Float, condAug: Float, startsFromInput: Bool, guider: String,
                    inputView: Int, inputFraming: String) {
            self.checkpoint = checkpoint; self.variant = variant; self.frames = frames; self.steps = steps
            self.seed = seed; self.sampler = sampler; self.sigmaMax = sigmaMax; self.churn = churn
            self.condAug = condAug; self.startsFromInput = startsFromInput; self.guider = guider
            self.inputView = inputView; self.inputFraming = inputFraming
        }

        enum CodingKeys: String, CodingKey {
            case checkpoint, variant, frames, steps, seed, sampler, churn, guider
            case sigmaMax = "sigma_max"
            case condAug = "cond_aug"
            case startsFromInput = "starts_from_input"
            case inputView = "input_view"
            case inputFraming = "input_framing"
        }
    }

    public var format: String
    /// nil only in version-1 files (their format name carries the version).
    public var version: Int?
    public var objectID: String
    public var width: Int
    public var height: Int
    public var fovDeg: Double
    public var K: [[Double]]
    public var views: [View]

    // Orbit plan (renders).
    public var source: String?
    public var distance: Double?
    public var elevationDeg: Double?
    public var azimuthStartDeg: Double?
    public var orbit: OrbitPlan?
    // How the views were rendered.
    public var samplesPerPixel: Int?
    public var background: String?
    public var seed: UInt64?
    public var triangles: Int?
    public var nonFiniteSamples: Int?
    public var conventions: [String: String]?
    public var normalization: Normalization?
    public var lighting: String?
    public var environment: Environment?
    public var warnings: [String]?
    public var depth: AuxiliaryImages?
    public var normals: AuxiliaryImages?
    /// The sRGB colour [r, g, b] (0...255) the views were composited over, when it is neither
    /// transparent nor white (the renderer's `random-color` background).
    public var backgroundColor: [Int]?
    /// The same views composited over white, when written beside them (`random-color`).
    public var onWhite: AuxiliaryImages?
    // How the views were generated.
    public var generation: Generation?

    /// A current-version file for `views` of `width` x `height` images with field of view `fovDeg`.
    public init(objectID: String, width: Int, height: Int, fovDeg: Double, views: [View]) {
        format = OrbitCameras.formatName
        version = OrbitCameras.currentVersion
        self.objectID = objectID; self.width = width; self.height = height; self.fovDeg = fovDeg
        K = PinholeIntrinsics.matrix(width: width, height: height, fovDegrees: fovDeg)
        self.views = views
    }

    /// K may be left out of a hand-written file: it follows from the size and the field of view.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decodeIfPresent(Int.self, forKey: .version)
        objectID = try c.decode(String.self, forKey: .objectID)
        width = try c.decode(Int.self, forKey: .width)
        height = try c.decode(Int.self, forKey: .height)
        fovDeg = try c.decode(Double.self, forKey: .fovDeg)
        K = try c.decodeIfPresent([[Double]].self, forKey: .K)
            ?? PinholeIntrinsics.matrix(width: width, height: height, fovDegrees: fovDeg)
        views = try c.decode([View].self, forKey: .views)
        source = try c.decodeIfPresent(String.self, forKey: .source)
        distance = try c.decodeIfPresent(Double.self, forKey: .distance)
        elevationDeg = try c.decodeIfPresent(Double.self, forKey: .elevationDeg)
        azimuthStartDeg = try c.decodeIfPresent(Double.self, forKey: .azimuthStartDeg)
        orbit = try c.decodeIfPresent(OrbitPlan.self, forKey: .orbit)
        samplesPerPixel = try c.decodeIfPresent(Int.self, forKey: .samplesPerPixel)
        background = try c.decodeIfPresent(String.self, forKey: .background)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        triangles = try c.decodeIfPresent(Int.self, forKey: .triangles)
        nonFiniteSamples = try c.decodeIfPresent(Int.self, forKey: .nonFiniteSamples)
        conventions = try c.decodeIfPresent([String: String].self, forKey: .conventions)
        normalization = try c.decodeIfPresent(Normalization.self, forKey: .normalization)
        lighting = try c.decodeIfPresent(String.self, forKey: .lighting)
        environment = try c.decodeIfPresent(Environment.self, forKey: .environment)
        warnings = try c.decodeIfPresent([String].self, forKey: .warnings)
        depth = try c.decodeIfPresent(AuxiliaryImages.self, forKey: .depth)
        normals = try c.decodeIfPresent(AuxiliaryImages.self, forKey: .normals)
        backgroundColor = try c.decodeIfPresent([Int].self, forKey: .backgroundColor)
        onWhite = try c.decodeIfPresent(AuxiliaryImages.self, forKey: .onWhite)
        generation = try c.decodeIfPresent(Generation.self, forKey: .generation)
    }

    /// The schema version of a decoded file (1 for the version-1 format name).
    public var schemaVersion: Int { version ?? (format == OrbitCameras.versionOneFormatName ? 1 : 0) }

    enum CodingKeys: String, CodingKey {
        case format, version, width, height, K, views, source, distance, background, seed, triangles
        case conventions, normalization, lighting, environment, warnings, depth, normals, generation, orbit
        case objectID = "object_id"
        case fovDeg = "fov_deg"
        case elevationDeg = "elevation_deg"
        case azimuthStartDeg = "azimuth_start_deg"
        case samplesPerPixel = "samples_per_pixel"
        case nonFiniteSamples = "non_finite_samples"
        case backgroundColor = "background_color"
        case onWhite = "on_white"
    }

    // MARK: Reading and writing

    /// Pretty-printed JSON with sorted keys (stable diffs between runs).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Decodes and checks a cameras.json; errors name the file and the field.
    public static func decode(_ data: Data, path: String) throws -> OrbitCameras {
        let cameras = try decodeJSON(OrbitCameras.self, from: data, path: path)
        try cameras.validate(path: path)
        return cameras
    }

    public static func read(_ url: URL) throws -> OrbitCameras {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw OrbitCamerasError(path: url.path, reason: "cannot read file")
        }
        return try decode(data, path: url.path)
    }

    /// The format, version and shapes a reader relies on.
    public func validate(path: String) throws {
        switch format {
        case OrbitCameras.versionOneFormatName:
            guard version == nil || version == 1 else {
                throw OrbitCamerasError(path: path, reason: "format \(format) with version \(version!)")
            }
        case OrbitCameras.formatName:
            guard let version else { throw OrbitCamerasError(path: path, reason: "missing field version") }
            guard (2...OrbitCameras.currentVersion).contains(version) else {
                throw OrbitCamerasError(path: path, reason: "version \(version) is newer than this svdmv reads (up to \(OrbitCameras.currentVersion))")
            }
        default:
            throw OrbitCamerasError(path: path, reason: "format \(format), expected \(OrbitCameras.formatName)")
        }
        guard width > 0, height > 0 else { throw OrbitCamerasError(path: path, reason: "width and height must be positive") }
        guard fovDeg > 0, fovDeg < 180 else { throw OrbitCamerasError(path: path, reason: "fov_deg must be in (0, 180)") }
        guard K.count == 3, K.allSatisfy({ $0.count == 3 }) else { throw OrbitCamerasError(path: path, reason: "K is not 3x3") }
        guard !views.isEmpty else { throw OrbitCamerasError(path: path, reason: "views is empty") }
        if let backgroundColor {
            guard backgroundColor.count == 3, backgroundColor.allSatisfy({ (0...255).contains($0) }) else {
                throw OrbitCamerasError(path: path, reason: "background_color must be [r, g, b] in 0...255")
            }
        }
        if let orbit, orbit.sampleViews != nil || orbit.sampleStride != nil {
            guard let n = orbit.sampleViews, let stride = orbit.sampleStride, n >= 1, stride >= 1, n * stride == views.count else {
                throw OrbitCamerasError(path: path, reason: "orbit.sample_views times orbit.sample_stride must be the number of views (\(views.count))")
            }
        }
        for (i, v) in views.enumerated() {
            for (name, m) in [("world_to_camera_opencv", v.worldToCameraOpenCV), ("world_to_camera_opengl", v.worldToCameraOpenGL)] {
                guard m.count == 3, m.allSatisfy({ $0.count == 4 }) else {
                    throw OrbitCamerasError(path: path, reason: "views.\(i).\(name) is not 3x4")
                }
            }
            guard v.distance.isFinite, v.elevationDeg.isFinite, v.azimuthDeg.isFinite else {
                throw OrbitCamerasError(path: path, reason: "views.\(i) has a non-finite angle or distance")
            }
        }
    }

    /// Writes the file atomically, so a reader never sees half of it.
    public func write(to url: URL) throws {
        try writeAtomically(encoded(), to: url)
    }

    /// The views ordered by their numbered files (000.png, ...) when every file is numbered, else
    /// as listed.
    public var viewsInFileOrder: [View] {
        func number(_ v: View) -> Int? { Int(URL(fileURLWithPath: v.file).deletingPathExtension().lastPathComponent) }
        guard views.allSatisfy({ number($0) != nil }) else { return views }
        return views.sorted { number($0)! < number($1)! }
    }
}

/// A cameras.json (or orbit.json) that cannot be used, naming the file and the field.
public struct OrbitCamerasError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
}

/// Decodes a JSON file's contents; a decoding error becomes one that names the file and the field.
func decodeJSON<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
    do {
        return try JSONDecoder().decode(type, from: data)
    } catch let DecodingError.keyNotFound(key, context) {
        throw OrbitCamerasError(path: path, reason: "missing field \(codingPathText(context.codingPath + [key]))")
    } catch let DecodingError.typeMismatch(_, context) {
        throw OrbitCamerasError(path: path, reason: "wrong type at \(codingPathText(context.codingPath))")
    } catch let DecodingError.valueNotFound(_, context) {
        throw OrbitCamerasError(path: path, reason: "null at \(codingPathText(context.codingPath))")
    } catch {
        throw OrbitCamerasError(path: path, reason: "not valid JSON (\(error.localizedDescription))")
    }
}

/// "views.0.distance" rather than "views.Index 0.distance".
func codingPathText(_ path: [CodingKey]) -> String {
    path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
}

/// `orbit.json` as `svdmv generate` wrote it before cameras.json carried the generation settings
/// ("svdmv-generated-orbit", version 1): per-view angles in the renderer's convention, but no field
/// of view, distance or image size. Read for old generated folders; nothing writes it.
public struct GeneratedOrbitRecord: Codable, Equatable, Sendable {
    public static let fileName = "orbit.json"
    public static let formatName = "svdmv-generated-orbit"

    public var format: String
    public var version: Int
    public var elevationDeg: [Double]
    public var azimuthDeg: [Double]
    public var files: [String]?

    enum CodingKeys: String, CodingKey {
        case format, version, files
        case elevationDeg = "elevation_deg"
        case azimuthDeg = "azimuth_deg"
    }

    public static func read(_ url: URL) throws -> GeneratedOrbitRecord {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw OrbitCamerasError(path: url.path, reason: "cannot read file")
        }
        let record = try decodeJSON(GeneratedOrbitRecord.self, from: data, path: url.path)
        guard record.format == formatName, record.version == 1 else {
            throw OrbitCamerasError(path: url.path, reason: "format \(record.format) version \(record.version), expected \(formatName) version 1")
        }
        guard !record.elevationDeg.isEmpty, record.elevationDeg.count == record.azimuthDeg.count else {
            throw OrbitCamerasError(path: url.path, reason: "elevation_deg and azimuth_deg must be non-empty lists of the same length")
        }
        return record
    }
}
