// COLMAP sparse reconstruction (cameras, registered images, 3D points), as written by COLMAP's
// `reconstruction_io_binary.cc` / `reconstruction_io_text.cc` (colmap@5d968cf).
// Poses are cam_from_world: X_cam = R(q)·X_world + t, OpenCV camera axes (x right, y down,
// z forward), camera centre C = -Rᵀt. Pixel (0, 0) is the image corner.

import Foundation

/// COLMAP camera model ids (`src/colmap/sensor/models.h`) with their parameter order.
public enum CameraModel: Int32, CaseIterable, Sendable {
    case simplePinhole = 0, pinhole, simpleRadial, radial, opencv, opencvFisheye, fullOpencv, fov,
         simpleRadialFisheye, radialFisheye, thinPrismFisheye, radTanThinPrismFisheye,
         simpleDivision, division, simpleFisheye, fisheye, eucm, equirectangular

    /// The name COLMAP writes in `cameras.txt`.
    public var name: String {
        switch self {
        case .simplePinhole: return "SIMPLE_PINHOLE"
        case .pinhole: return "PINHOLE"
        case .simpleRadial: return "SIMPLE_RADIAL"
        case .radial: return "RADIAL"
        case .opencv: return "OPENCV"
        case .opencvFisheye: return "OPENCV_FISHEYE"
        case .fullOpencv: return "FULL_OPENCV"
        case .fov: return "FOV"
        case .simpleRadialFisheye: return "SIMPLE_RADIAL_FISHEYE"
        case .radialFisheye: return "RADIAL_FISHEYE"
        case .thinPrismFisheye: return "THIN_PRISM_FISHEYE"
        case .radTanThinPrismFisheye: return "RAD_TAN_THIN_PRISM_FISHEYE"
        case .simpleDivision: return "SIMPLE_DIVISION"
        case .division: return "DIVISION"
        case .simpleFisheye: return "SIMPLE_FISHEYE"
        case .fisheye: return "FISHEYE"
        case .eucm: return "EUCM"
        case .equirectangular: return "EQUIRECTANGULAR"
        }
    }

    public init?(name: String) {
        guard let model = CameraModel.allCases.first(where: { $0.name == name }) else { return nil }
        self = model
    }

    /// Number of float64 parameters stored after width and height.
    public var parameterCount: Int {
        switch self {
        case .equirectangular: return 2
        case .simplePinhole, .simpleFisheye: return 3
        case .pinhole, .simpleRadial, .simpleRadialFisheye, .simpleDivision, .fisheye: return 4
        case .radial, .fov, .radialFisheye, .division: return 5
        case .eucm: return 6
        case .opencv, .opencvFisheye: return 8
        case .fullOpencv, .thinPrismFisheye: return 12
        case .radTanThinPrismFisheye: return 16
        }
    }

    /// (fx, fy, cx, cy) from the parameter list, nil for EQUIRECTANGULAR (no pinhole part).
    public func focalAndPrincipalPoint(_ p: [Double]) -> (fx: Double, fy: Double, cx: Double, cy: Double)? {
        switch self {
        case .equirectangular: return nil
        case .simplePinhole, .simpleRadial, .radial, .simpleRadialFisheye, .radialFisheye,
             .simpleDivision, .simpleFisheye:
            return (p[0], p[0], p[1], p[2])
        default:
            return (p[0], p[1], p[2], p[3])
        }
    }
}

public struct COLMAPCamera: Equatable, Sendable {
    public var id: UInt32
    public var model: CameraModel
    public var width: UInt64
    public var height: UInt64
    public var params: [Double]

    public init(id: UInt32, model: CameraModel, width: UInt64, height: UInt64, params: [Double]) {
        precondition(params.count == model.parameterCount, "\(model.name) takes \(model.parameterCount) params")
        self.id = id; self.model = model; self.width = width; self.height = height; self.params = params
    }

    /// Pinhole intrinsics K (distortion ignored); nil for models without a pinhole part.
    public var intrinsics: Mat3? {
        guard let f = model.focalAndPrincipalPoint(params) else { return nil }
        return Mat3(rows: [f.fx, 0, f.cx], [0, f.fy, f.cy], [0, 0, 1])
    }
}

public struct COLMAPPoint2D: Equatable, Sendable {
    /// COLMAP's invalid point3D id (2⁶⁴ − 1; −1 in text files).
    public static let invalidPoint3D = UInt64.max
    public var x: Double
    public var y: Double
    public var point3DID: UInt64
    public init(x: Double, y: Double, point3DID: UInt64) { self.x = x; self.y = y; self.point3DID = point3DID }
}

public struct COLMAPImage: Equatable, Sendable {
    public var id: UInt32
    /// Rotation of cam_from_world as a quaternion (w, x, y, z).
    public var qvec: [Double]
    /// Translation of cam_from_world.
    public var tvec: Vec3
    public var cameraID: UInt32
    /// File name relative to the `images/` folder.
    public var name: String
    public var points2D: [COLMAPPoint2D]

    public init(id: UInt32, qvec: [Double], tvec: Vec3, cameraID: UInt32, name: String,
                points2D: [COLMAPPoint2D] = []) {
        self.id = id; self.qvec = qvec; self.tvec = tvec; self.cameraID = cameraID
        self.name = name; self.points2D = points2D
    }

    public var pose: RigidPose { RigidPose(rotation: Mat3(quaternion: qvec), translation: tvec) }
}

public struct COLMAPTrackElement: Equatable, Sendable {
    public var imageID: UInt32
    public var point2DIndex: UInt32
    public init(imageID: UInt32, point2DIndex: UInt32) { self.imageID = imageID; self.point2DIndex = point2DIndex }
}

public struct COLMAPPoint3D: Equatable, Sendable {
    public var id: UInt64
    public var xyz: Vec3
    public var rgb: [UInt8]
    public var error: Double
    public var track: [COLMAPTrackElement]

    public init(id: UInt64, xyz: Vec3, rgb: [UInt8], error: Double, track: [COLMAPTrackElement] = []) {
        self.id = id; self.xyz = xyz; self.rgb = rgb; self.error = error; self.track = track
    }
}

/// Thrown for unreadable, truncated or corrupt COLMAP files; always names the file and the byte
/// offset (binary) or line (text) where reading stopped.
public enum COLMAPError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case truncated(path: String, offset: Int, field: String)
    case corrupt(path: String, offset: Int, reason: String)
    case badLine(path: String, line: Int, reason: String)
    case inconsistent(path: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path): return "COLMAP model file missing: \(path)"
        case .truncated(let path, let offset, let field):
            return "\(path): truncated at byte \(offset) while reading \(field)"
        case .corrupt(let path, let offset, let reason): return "\(path): corrupt at byte \(offset): \(reason)"
        case .badLine(let path, let line, let reason): return "\(path):\(line): \(reason)"
        case .inconsistent(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// A whole sparse model (`sparse/0/`), in file order.
public struct COLMAPModel: Equatable, Sendable {
    public var cameras: [COLMAPCamera]
    public var images: [COLMAPImage]
    public var points3D: [COLMAPPoint3D]

    public init(cameras: [COLMAPCamera], images: [COLMAPImage], points3D: [COLMAPPoint3D]) {
        self.cameras = cameras; self.images = images; self.points3D = points3D
    }

    public func camera(id: UInt32) -> COLMAPCamera? { cameras.first { $0.id == id } }

    /// Reads `cameras`, `images` and `points3D` from `directory`, binary (`.bin`) when
    /// `cameras.bin` exists, else text (`.txt`). Checks that every image's camera exists.
    public static func read(directory: URL) throws -> COLMAPModel {
        let fm = FileManager.default
        let model: COLMAPModel
        if fm.fileExists(atPath: directory.appendingPathComponent("cameras.bin").path) {
            model = try readBinary(directory: directory)
        } else if fm.fileExists(atPath: directory.appendingPathComponent("cameras.txt").path) {
            model = try readText(directory: directory)
        } else {
            throw COLMAPError.missing(path: directory.appendingPathComponent("cameras.bin").path)
        }
        let ids = Set(model.cameras.map(\.id))
        for image in model.images where !ids.contains(image.cameraID) {
            throw COLMAPError.inconsistent(path: directory.path,
                                           reason: "image \(image.id) (\(image.name)) uses missing camera \(image.cameraID)")
        }
        return model
    }
}
