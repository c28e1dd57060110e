// MVImgNet captures (the release's layout): `ROOT/<category>/<object>/images/NNN.jpg` and
// `ROOT/<category>/<object>/sparse/0/{cameras,images,points3D}.bin`, optional masks in a parallel
// tree `MASKS/<category>/<object>/<frame>.jpg.png` (object > threshold).
//
// A capture becomes one training sequence in two steps, kept apart so each can be tested:
// `plan` (metadata only: order the registered frames along the trajectory, pick `frameCount`
// spanning it evenly by arc length, estimate centre and up, angles, crop boxes from the projected
// object points) and `load` (decode, crop — from the mask when there is one —, resize).

import Foundation
import Imaging
import Tensor

public struct MVImgNetCapture: Equatable, Sendable {
    public var directory: URL
    public var category: String
    public var object: String

    public init(directory: URL) {
        self.directory = directory
        object = directory.lastPathComponent
        category = directory.deletingLastPathComponent().lastPathComponent
    }

    public var id: String { "\(category)/\(object)" }
    public var imagesDirectory: URL { directory.appendingPathComponent("images") }
    public var sparseDirectory: URL { directory.appendingPathComponent("sparse/0") }

    /// Every `<category>/<object>` under `root` that has a `sparse/0` model, sorted by id.
    public static func discover(root: URL) throws -> [MVImgNetCapture] {
        let fm = FileManager.default
        var result: [MVImgNetCapture] = []
        let categories = try fm.contentsOfDirectory(atPath: root.path).sorted()
        for category in categories where !category.hasPrefix(".") {
            let catURL = root.appendingPathComponent(category)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: catURL.path, isDirectory: &isDir), isDir.boolValue else { continue }
            for object in (try fm.contentsOfDirectory(atPath: catURL.path)).sorted() where !object.hasPrefix(".") {
                let capture = MVImgNetCapture(directory: catURL.appendingPathComponent(object))
                let sparse = capture.sparseDirectory
                if fm.fileExists(atPath: sparse.appendingPathComponent("cameras.bin").path)
                    || fm.fileExists(atPath: sparse.appendingPathComponent("cameras.txt").path) {
                    result.append(capture)
                }
            }
        }
        return result
    }
}

public struct MVImgNetOptions: Sendable {
    public var frameCount = 21
    /// Output frames are size x size.
    public var size = 576
    /// The square crop is this many times the object's larger bounding-box side.
    public var cropMargin = 1.25
    /// Mask values above this are object (the CarveKit masks MVImgNet ships).
    public var maskThreshold: UInt8 = 225
    /// Folder of the parallel mask tree, if any.
    public var masksRoot: URL?
    /// Sparse points within this fraction of the median camera distance of the centre are taken
    /// as the object when cropping without a mask.
    public var objectRadius = 0.4
    public var centreMethod = CaptureGeometry.CentreMethod.opticalAxes
    public var upMethod = CaptureGeometry.UpMethod.cameraAxes
    /// Decode only the crop's region of each JPEG (libjpeg crop/skip scanlines), at a reduced DCT
    /// scale when the crop allows it (see JPEGScaled.swift). Off: full decode, then crop.
    public var scaledDecoding = true
    /// Frames decoded in parallel; nil = one worker per core.
    public var workers: Int?

    public init() {}
}

/// The metadata half of a sequence: which frames, their cameras, angles and crop boxes.
public struct MVImgNetPlan: Sendable {
    public struct Frame: Sendable {
        public var name: String
        public var pose: RigidPose
        public var camera: COLMAPCamera
        public var elevation: Double
        public var azimuth: Double
        public var distance: Double
        /// Crop in the image's own pixels from the projected object points.
        public var crop: CropBox
    }
    public var capture: MVImgNetCapture
    public var geometry: CaptureGeometry
    public var frames: [Frame]
}

/// Pinhole projection with the radial terms of SIMPLE_RADIAL / RADIAL (other distortions ignored;
/// they are small for phone captures and only the crop uses this).
func project(_ world: Vec3, pose: RigidPose, camera: COLMAPCamera) -> (x: Double, y: Double)? {
    let c = pose.apply(world)
    guard c.z > 1e-9, let f = camera.model.focalAndPrincipalPoint(camera.params) else { return nil }
    let u = c.x / c.z, v = c.y / c.z, r2 = u * u + v * v
    var d = 1.0
    switch camera.model {
    case .simpleRadial: d += camera.params[3] * r2
    case .radial: d += camera.params[3] * r2 + camera.params[4] * r2 * r2
    default: break
    }
    return (f.fx * u * d + f.cx, f.fy * v * d + f.cy)
}

/// Indices of `count` items spanning positions `arc` (non-decreasing) evenly: for each of `count`
/// equally spaced targets the nearest unused index, keeping order.
func evenlySpaced(arc: [Double], count: Int) -> [Int] {
    precondition(arc.count >= count && count >= 2)
    let total = arc.last! - arc.first!
    var chosen: [Int] = []
    var next = 0
    for k in 0..<count {
        let target = arc.first! + total * Double(k) / Double(count - 1)
        // Leave room for the picks still to come.
        let last = arc.count - (count - k)
        var best = next
        for i in next...last where abs(arc[i] - target) < abs(arc[best] - target) { best = i }
        chosen.append(best)
        next = best + 1
    }
    return chosen
}

public struct MVImgNetLoader: Sendable {
    public var options: MVImgNetOptions
    public init(options: MVImgNetOptions = MVImgNetOptions()) { self.options = options }

    public func plan(_ capture: MVImgNetCapture) throws -> MVImgNetPlan {
        let model = try COLMAPModel.read(directory: capture.sparseDirectory)
        let fm = FileManager.default
        // Registered frames present on disk, in file-name (capture) order.
        let registered = model.images
            .filter { fm.fileExists(atPath: capture.imagesDirectory.appendingPathComponent($0.name).path) }
            .sorted { $0.name.compare($1.name, options: .numeric) == .orderedAscending }
        guard registered.count >= options.frameCount else {
            throw SequenceError.notEnoughFrames(capture.directory.path, have: registered.count, need: options.frameCount)
        }
        let poses = registered.map(\.pose)
        let geometry = try CaptureGeometry.estimate(poses: poses, points: model.points3D.map(\.xyz),
                                                    centre: options.centreMethod, up: options.upMethod)
        // Arc length along the camera path; even spacing in it copes with uneven hand speed.
        var arc = [0.0]
        for i in 1..<poses.count { arc.append(arc[i - 1] + length(poses[i].centre - poses[i - 1].centre)) }
        let picks = arc.last! > 0 ? evenlySpaced(arc: arc, count: options.frameCount)
                                  : evenlySpaced(arc: (0..<poses.count).map(Double.init), count: options.frameCount)
        let centres = picks.map { poses[$0].centre }
        let azimuths = geometry.azimuths(of: centres, reference: picks.count - 1)
        let distances = centres.map { geometry.distance(of: $0) }
        let median = distances.sorted()[distances.count / 2]
        let objectPoints = model.points3D.map(\.xyz).filter { length($0 - geometry.centre) <= options.objectRadius * median }

        var frames: [MVImgNetPlan.Frame] = []
        for (k, index) in picks.enumerated() {
            let image = registered[index]
            guard let camera = model.camera(id: image.cameraID) else {
                throw COLMAPError.inconsistent(path: capture.sparseDirectory.path, reason: "image \(image.name) has no camera")
            }
            guard camera.intrinsics != nil else {
                throw COLMAPError.inconsistent(path: capture.sparseDirectory.path,
                                               reason: "camera \(camera.id) is \(camera.model.name), which has no pinhole part")
            }
            let crop = cropBox(points: objectPoints, centre: geometry.centre, pose: image.pose, camera: camera)
            frames.append(.init(name: image.name, pose: image.pose, camera: camera,
                                elevation: geometry.elevation(of: centres[k]), azimuth: azimuths[k],
                                distance: distances[k], crop: crop))
        }
        return MVImgNetPlan(capture: capture, geometry: geometry, frames: frames)
    }

    /// A square around the projected object points (5th–95th percentile box), or around the
    /// projected centre with the image's shorter side when too few points project.
    func cropBox(points: [Vec3], centre: Vec3, pose: RigidPose, camera: COLMAPCamera) -> CropBox {
        let (w, h) = (Double(camera.width), Double(camera.height))
        let projected = points.compactMap { project($0, pose: pose, camera: camera) }
            .filter { $0.x >= 0 && $0.x <= w && $0.y >= 0 && $0.y <= h }
        if projected.count >= 8 {
            let xs = projected.map(\.x).sorted(), ys = projected.map(\.y).sorted()
            let lo = projected.count / 20, hi = projected.count - 1 - projected.count / 20
            return squareBox(x0: xs[lo], y0: ys[lo], x1: xs[hi], y1: ys[hi])
        }
        let c = project(centre, pose: pose, camera: camera) ?? (w / 2, h / 2)
        let side = min(w, h)
        return CropBox(x: c.x - side / 2, y: c.y - side / 2, width: side, height: side)
    }

    func squareBox(x0: Double, y0: Double, x1: Double, y1: Double) -> CropBox {
        let side = max(max(x1 - x0, y1 - y0) * options.cropMargin, 8)
        let cx = (x0 + x1) / 2, cy = (y0 + y1) / 2
        return CropBox(x: cx - side / 2, y: cy - side / 2, width: side, height: side)
    }

    /// Crop from a mask (values > threshold), in the frame's pixel coordinates; nil if empty.
    func maskBox(_ mask: Image8, frameWidth: Int, frameHeight: Int) -> CropBox? {
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<mask.height {
            for x in 0..<mask.width where mask.pixels[(y * mask.width + x) * mask.channels] > options.maskThreshold {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        guard x1 >= 0 else { return nil }
        // Masks may come at another resolution: scale to the frame.
        let sx = Double(frameWidth) / Double(mask.width), sy = Double(frameHeight) / Double(mask.height)
        return squareBox(x0: Double(x0) * sx, y0: Double(y0) * sy, x1: Double(x1 + 1) * sx, y1: Double(y1 + 1) * sy)
    }

    /// Decodes, crops and resizes the planned frames into a training sequence. Frames are split
    /// over the cores; each worker reuses its decode and resize buffers and writes its frames'
    /// floats straight into the sequence.
    public func load(_ plan: MVImgNetPlan) throws -> TrainingSequence {
        let size = options.size, count = plan.frames.count
        let frameFloats = 3 * size * size
        var crops = [CropBox](repeating: CropBox(x: 0, y: 0, width: 1, height: 1), count: count)
        var errors = [Error?](repeating: nil, count: count)
        let lock = NSLock()
        let workers = min(count, max(1, options.workers ?? ProcessInfo.processInfo.activeProcessorCount))
        let scalars = [Float](unsafeUninitializedCapacity: count * frameFloats) { floats, initialized in
            let base = floats.baseAddress!
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var decoded: [UInt8] = []
                var resized = [UInt8](repeating: 0, count: frameFloats)
                for i in stride(from: worker, to: count, by: workers) {
                    do {
                        let crop = try loadFrame(plan.frames[i], capture: plan.capture, decoded: &decoded, into: &resized)
                        let out = base + i * frameFloats
                        let plane = size * size
                        resized.withUnsafeBufferPointer { px in
                            for p in 0..<plane {
                                out[p] = Float(px[3 * p]) / 127.5 - 1
                                out[plane + p] = Float(px[3 * p + 1]) / 127.5 - 1
                                out[2 * plane + p] = Float(px[3 * p + 2]) / 127.5 - 1
                            }
                        }
                        lock.lock(); crops[i] = crop; lock.unlock()
                    } catch {
                        (base + i * frameFloats).initialize(repeating: 0, count: frameFloats)
                        lock.lock(); errors[i] = error; lock.unlock()
                    }
                }
            }
            initialized = count * frameFloats
        }
        if let error = errors.compactMap({ $0 }).first { throw error }
        let cameras = zip(plan.frames, crops).map { frame, crop -> FrameCamera in
            let f = frame.camera.model.focalAndPrincipalPoint(frame.camera.params)!
            let s = Double(size) / crop.width
            return FrameCamera(K: [[f.fx * s, 0, (f.cx - crop.x) * s], [0, f.fy * s, (f.cy - crop.y) * s], [0, 0, 1]],
                               worldToCamera: frame.pose.matrix3x4)
        }
        let metadata = SequenceMetadata(
            source: .mvimgnet, objectID: plan.capture.id, width: size, height: size,
            conditioningIndex: count - 1,
            elevationsDeg: plan.frames.map(\.elevation), azimuthsDeg: plan.frames.map(\.azimuth),
            distances: plan.frames.map(\.distance), cameras: cameras, frameNames: plan.frames.map(\.name))
        return TrainingSequence(metadata: metadata, frames: Tensor(shape: [count, 3, size, size], scalars: scalars))
    }

    public func load(_ capture: MVImgNetCapture) throws -> TrainingSequence { try load(try plan(capture)) }

    /// Decodes one frame (into `decoded`, reused), crops and resizes it into `output` (RGB,
    /// size x size); returns the crop box in the frame's own pixels.
    func loadFrame(_ frame: MVImgNetPlan.Frame, capture: MVImgNetCapture, decoded: inout [UInt8],
                   into output: inout [UInt8]) throws -> CropBox {
        let url = capture.imagesDirectory.appendingPathComponent(frame.name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ImageError.unreadable(path: url.path, reason: "cannot read file")
        }
        let (cw, ch) = (Int(frame.camera.width), Int(frame.camera.height))
        var crop = frame.crop
        if let masks = options.masksRoot {
            let maskURL = masks.appendingPathComponent("\(capture.category)/\(capture.object)/\(frame.name).png")
            if FileManager.default.fileExists(atPath: maskURL.path),
               let box = maskBox(try PNG.read(maskURL), frameWidth: cw, frameHeight: ch) {
                crop = box
            }
        }
        let eighths = options.scaledDecoding ? ScaledJPEG.factor(atLeast: Double(options.size) / crop.width) : 8
        let size = options.size
        if options.scaledDecoding, JPEG.exifOrientation(data) ?? 1 == 1 {
            // Fast path: decode only the crop's rows and columns.
            guard let stored = try? JPEG.storedSize(data) else {
                throw ImageError.unreadable(path: url.path, reason: "not a readable JPEG header")
            }
            guard stored.width == cw, stored.height == ch else {
                throw ImageError.unsupported(path: url.path, reason:
                    "is \(stored.width)x\(stored.height), COLMAP camera \(frame.camera.id) is \(cw)x\(ch)")
            }
            let scaled = JPEG.scaledSize(stored, eighths: eighths)
            let box = crop.scaled(by: Double(scaled.width) / Double(cw))
            // A 16-pixel margin keeps libjpeg's chroma upsampling edge effects out of the crop.
            let margin = 16
            let bx0 = Int(box.x.rounded(.down)), by0 = Int(box.y.rounded(.down))
            let bx1 = Int((box.x + box.width).rounded(.up)), by1 = Int((box.y + box.height).rounded(.up))
            guard min(scaled.width, bx1) > max(0, bx0), min(scaled.height, by1) > max(0, by0) else {
                for i in 0..<output.count { output[i] = 255 }   // the crop misses the picture
                return crop
            }
            let x0 = max(0, bx0 - margin), y0 = max(0, by0 - margin)
            let x1 = min(scaled.width, bx1 + margin), y1 = min(scaled.height, by1 + margin)
            let block = try ScaledJPEG.decodeRegion(data, path: url.path, eighths: eighths, scaledWidth: scaled.width,
                                                    x0: x0, y0: y0, x1: x1, y1: y1, buffer: &decoded)
            let shifted = CropBox(x: box.x - Double(block.x), y: box.y - Double(block.y), width: box.width, height: box.height)
            output.withUnsafeMutableBufferPointer { out in
                decoded.withUnsafeBufferPointer { src in
                    cropAndResize(source: src.baseAddress!, width: block.width, height: block.height, box: shifted,
                                  into: out.baseAddress!, width: size, height: size, fill: (255, 255, 255))
                }
            }
            return crop
        }
        let picture = try ScaledJPEG.decode(data, path: url.path, eighths: eighths, buffer: &decoded)
        // The decoded (oriented) frame must be the camera's frame, at the decode scale.
        let expected = JPEG.scaledSize((cw, ch), eighths: eighths)
        guard picture.width == expected.width, picture.height == expected.height else {
            throw ImageError.unsupported(path: url.path, reason:
                "decoded \(picture.width)x\(picture.height) at \(eighths)/8, COLMAP camera \(frame.camera.id) is \(cw)x\(ch)")
        }
        let box = crop.scaled(by: Double(picture.width) / Double(cw))
        output.withUnsafeMutableBufferPointer { out in
            if let image = picture.image {
                image.pixels.withUnsafeBufferPointer { src in
                    cropAndResize(source: src.baseAddress!, width: image.width, height: image.height, box: box,
                                  into: out.baseAddress!, width: size, height: size, fill: (255, 255, 255))
                }
            } else {
                decoded.withUnsafeBufferPointer { src in
                    cropAndResize(source: src.baseAddress!, width: picture.width, height: picture.height, box: box,
                                  into: out.baseAddress!, width: size, height: size, fill: (255, 255, 255))
                }
            }
        }
        return crop
    }
}
