// `svdmv bench curate`: the throughput of `svdmv curate`'s scorers, part by part, on inputs made
// here from a seed:
//
//   - MVImgNet-layout captures: photo-like JPEG frames (smooth random shading plus sensor-like
//     noise, as Scripts/bench/make_bench_capture.py makes them for the loading benchmark) whose
//     shading slides sideways as the background does while the camera orbits, and a COLMAP model
//     of that orbit with sparse points seen from a few frames each;
//   - the renderer's orbits (RGBA PNG views and cameras.json, `RenderJob` at its defaults) of
//     procedural shapes, at each requested size and view count.
//
// The parts are timed by calling, in the scorer's order, the public functions that
// `CaptureScorer.score` and `OrbitScorer.score(folder:)` call. The whole scorer (one worker) and a
// whole run (`CurationRun.score` with `svdmv curate --jobs` workers) are timed as they are, so the
// sum of the parts can be read against the whole; the parts' motion and cut counts are checked
// against the whole scorer's, so the parts cannot drift from what the scorer computes unnoticed.

import Cameras
import Curation
import Foundation
import Imaging
import MultiViewData
import Render
import SeededRandom
import Shapes

public struct CurationBenchmark {
    /// Rendered orbits of one kind: `views` views of `size` x `size` pixels.
    public struct OrbitSet: Equatable, Sendable, CustomStringConvertible {
        public var size: Int
        public var views: Int

        public init(size: Int, views: Int) { self.size = size; self.views = views }

        public var description: String { "\(size)x\(views)" }

        /// The renderer's default orbit (576x576, 21 views) and the real-object corpus's (64x64, 84 views).
        public static let standard = [OrbitSet(size: 576, views: 21), OrbitSet(size: 64, views: 84)]
    }

    /// The names of the table's rows.
    public enum Part {
        public static let frameDecode = "frame decode"
        public static let sharpness = "sharpness"
        public static let flowMotion = "flow motion"
        public static let cutDetection = "cut detection"
        public static let colmapTrajectory = "colmap + trajectory"
        public static let pngDecode = "png decode"
        public static let viewMeasures = "view measures"
        public static let sumOfParts = "sum of parts"
        public static let wholeScorer = "whole scorer"
        public static let wholeRun = "whole run"

        /// A capture's parts, in `CaptureScorer.score`'s order.
        public static let capture = [frameDecode, sharpness, flowMotion, cutDetection, colmapTrajectory]
        /// An orbit's parts, in `OrbitScorer.score(folder:)`'s order.
        public static let orbit = [pngDecode, viewMeasures]
    }

    /// One row of the table: a part (milliseconds per item and its share of the parts' sum), the
    /// sum of the parts, the whole scorer on one worker, or a whole run on `workers` (its wall time
    /// divided by the items).
    public struct Row: Codable, Equatable, Sendable {
        public var group: String
        public var part: String
        public var items: Int
        public var workers: Int
        public var msPerItem: Double
        /// The part's share of the sum of the parts; nil for the other rows.
        public var share: Double?
        /// Items per second, for the whole scorer and the whole run.
        public var itemsPerSecond: Double?

        enum CodingKeys: String, CodingKey {
            case group, part, items, workers, share
            case msPerItem = "ms_per_item"
            case itemsPerSecond = "items_per_second"
        }
    }

    /// The rows of one kind of item, with what was made to time them.
    public struct Group: Sendable {
        /// `mvimgnet-WxHxFRAMES` or `renders-SIZExVIEWS`.
        public var name: String
        /// The inputs: how many, their sizes, the mean file size, and how long making them took.
        public var inputs: String
        public var rows: [Row]
    }

    public var captures = 4
    public var frames = 30
    /// MVImgNet's frame size.
    public var frameWidth = 1920
    public var frameHeight = 1080
    /// The frames' JPEG quality (make_bench_capture.py's).
    public var jpegQuality = 92
    /// Sparse points in each capture's COLMAP model.
    public var points = 3000
    /// Frames that see each sparse point (consecutive frames, wrapping round).
    public var pointTrackLength = 6
    /// Orbits of each set in `orbitSets`.
    public var orbits = 6
    public var orbitSets = OrbitSet.standard
    /// Items scored in parallel in the whole run (`svdmv curate --jobs`'s default: one per core).
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    /// Timed passes over every item, after one untimed item; each row reports its fastest pass.
    public var repeats = 2
    public var seed: UInt64 = 0

    public init() {}

    /// Makes the inputs under `folder` and times each kind of item, captures first; `done` is
    /// called with each group when it is timed. Throws when an input cannot be made, or an item
    /// scores with an error (its timing would not be the scorer's usual work).
    @discardableResult
    public func run(in folder: URL, done: (Group) -> Void = { _ in }) throws -> [Group] {
        var groups: [Group] = []
        if captures > 0 {
            groups.append(try captureGroup(root: folder.appendingPathComponent("mvimgnet")))
            done(groups[groups.count - 1])
        }
        if orbits > 0, !orbitSets.isEmpty {
            let meshes = try ProceduralShapes.write(seed: seed, range: 0..<orbits, to: folder.appendingPathComponent("meshes"))
            for set in orbitSets {
                groups.append(try orbitGroup(set, meshes: meshes, root: folder.appendingPathComponent("renders-\(set)")))
                done(groups[groups.count - 1])
            }
        }
        return groups
    }

    // MARK: Captures

    func captureGroup(root: URL) throws -> Group {
        let name = "mvimgnet-\(frameWidth)x\(frameHeight)x\(frames)"
        let start = now()
        for c in 0..<captures { try writeCapture(root: root, index: c) }
        let made = seconds(since: start)
        let items = try MVImgNetCapture.discover(root: root)
        let frameBytes = try items.reduce(0) { sum, capture in
            try CaptureScorer.frameNames(capture).reduce(sum) { $0 + fileSize(capture.imagesDirectory.appendingPathComponent($1)) }
        }
        let inputs = String(format: "%d capture(s) of %d JPEG frames at %dx%d (quality %d, %.0f kB a frame), COLMAP model with %d points; made in %.1f s",
                            items.count, frames, frameWidth, frameHeight, jpegQuality,
                            Double(frameBytes) / Double(max(1, items.count * frames)) / 1e3, points, made)

        let configuration = CurationConfiguration.defaults(for: .mvimgnet)
        let scorer = CaptureScorer(settings: configuration.scoring.capture)
        let settings = scorer.settings
        // One pass of the parts over `pass`; the seconds of each part and each item's motion and cuts.
        func parts(_ pass: ArraySlice<MVImgNetCapture>) throws -> (seconds: [Double], results: [(Double?, Int?)]) {
            var total = [Double](repeating: 0, count: Part.capture.count)
            var results: [(Double?, Int?)] = []
            for capture in pass {
                var clock = now()
                func lap(_ part: Int) { let t = now(); total[part] += Double(t - clock) / 1e9; clock = t }
                let names = try CaptureScorer.frameNames(capture)
                let grey = try names.map { try scorer.loadGrey(capture.imagesDirectory.appendingPathComponent($0)) }
                lap(0)
                let sharpness = grey.map(laplacianVariance)
                _ = (median(sharpness), percentile(sharpness, 10))
                lap(1)
                let motion = motionScore(grey, settings: settings.flow)
                lap(2)
                let cuts = grey.count >= 2 ? detectCuts(grey, settings: settings.cuts).count : nil
                lap(3)
                var record = ScoreRecord(id: capture.id, source: .mvimgnet, path: capture.directory.path)
                try scorer.fillPoseScores(&record, capture: capture, frameNames: names)
                lap(4)
                results.append((motion, cuts))
            }
            return (total, results)
        }
        _ = try parts(items.prefix(1))
        var best = [Double](repeating: .infinity, count: Part.capture.count)
        var partResults: [(Double?, Int?)] = []
        for _ in 0..<max(1, repeats) {
            let pass = try parts(items[...])
            best = zip(best, pass.seconds).map { min($0, $1) }
            partResults = pass.results
        }
        let whole = try fastest { try checked(items.map { scorer.score($0) }) }
        for (record, (motion, cuts)) in zip(whole.records, partResults) {
            let scored = (record.scores[ScoreName.motion], record.scores[ScoreName.cuts])
            guard scored.0 == motion, scored.1 == cuts.map({ Double($0) }) else {
                func text(_ value: Double?) -> String { value.map { "\($0)" } ?? "none" }
                throw CurationBenchmarkError(description: "\(record.id): the timed parts give motion \(text(motion)) and "
                    + "\(text(cuts.map { Double($0) })) cuts, CaptureScorer.score \(text(scored.0)) and \(text(scored.1)): "
                    + "the parts no longer do the scorer's work")
            }
        }
        let run = try fastest {
            try checked(CurationRun.score(source: .mvimgnet, root: root, configuration: configuration, workers: workers))
        }
        return Group(name: name, inputs: inputs,
                     rows: rows(group: name, parts: Part.capture, seconds: best, items: items.count,
                                wholeSeconds: whole.seconds, runSeconds: run.seconds))
    }

    /// Writes capture `index` under `root` (category `0`, object `bench-NN`): the camera circles
    /// the object 330 degrees at a wavering elevation, the frames slide 1.5 % of their width a step.
    func writeCapture(root: URL, index: Int) throws {
        var rng = SplitMix64(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1))
        let (w, h) = (frameWidth, frameHeight)
        let track = max(1, min(pointTrackLength, frames))
        var sparse: [COLMAPPoint3D] = []
        var seen = [[COLMAPPoint2D]](repeating: [], count: frames)
        for i in 0..<points {
            var direction = SIMD3(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1))
            let length = (direction * direction).sum().squareRoot()
            direction = length > 1e-9 ? direction / length : SIMD3(0, 0, 1)
            let id = UInt64(i + 1)
            var elements: [COLMAPTrackElement] = []
            for t in 0..<track {
                let frame = (i + t) % frames
                elements.append(COLMAPTrackElement(imageID: UInt32(frame + 1), point2DIndex: UInt32(seen[frame].count)))
                seen[frame].append(COLMAPPoint2D(x: rng.uniform(0, Double(w)), y: rng.uniform(0, Double(h)), point3DID: id))
            }
            sparse.append(COLMAPPoint3D(id: id, xyz: Vec3(0.45 * direction.x, 0.45 * direction.y, 0.45 * direction.z),
                                        rgb: [UInt8(rng.next() & 255), UInt8(rng.next() & 255), UInt8(rng.next() & 255)],
                                        error: rng.uniform(0.3, 1.5), track: elements))
        }
        let focal = 1500 * Double(max(w, h)) / 1920
        let camera = COLMAPCamera(id: 1, model: .simpleRadial, width: UInt64(w), height: UInt64(h),
                                  params: [focal, Double(w) / 2, Double(h) / 2, 0])
        let shading = Shading(width: w, height: h, rng: &rng)
        try MVImgNetCapture.write(root: root, name: String(format: "0/bench-%02d", index), frameCount: frames,
                                  quality: jpegQuality, camera: camera, points: sparse) { k in
            let s = Double(k) / Double(max(1, frames - 1))
            let az = (10 + 330 * s) * .pi / 180, el = (15 + 10 * sin(Double(k) / 5)) * .pi / 180
            let centre = Vec3(2 * cos(el) * cos(az), 2 * cos(el) * sin(az), 2 * sin(el))
            let pose = RigidPose(lookingFrom: centre, at: Vec3(0, 0, 0), up: Vec3(0, 0, 1))
            return MVImgNetCapture.SyntheticFrame(image: shading.frame(shift: 0.015 * Double(w * k), rng: &rng),
                                                  pose: pose, points2D: seen[k])
        }
    }

    /// Smooth random colour shading, periodic across, sampled at a horizontal shift, plus noise.
    struct Shading {
        let width: Int, height: Int
        /// Random colours on a grid of `columns` x `rows` cells of `cell` pixels (24 cells across the frame).
        let columns: Int, rows: Int, cell: Double
        let colours: [SIMD3<Float>]

        init(width: Int, height: Int, rng: inout SplitMix64) {
            self.width = width; self.height = height
            cell = Double(width) / 24
            columns = 48
            rows = Int((Double(height) / cell).rounded(.up)) + 2
            colours = (0..<(columns * rows)).map { _ in
                SIMD3(Float(rng.uniform(0, 255)), Float(rng.uniform(0, 255)), Float(rng.uniform(0, 255)))
            }
        }

        /// The frame with the shading moved `shift` pixels left: bilinear between the cells, plus
        /// noise of standard deviation 4 per channel (a sum of four uniforms).
        func frame(shift: Double, rng: inout SplitMix64) -> Image8 {
            let xs = (0..<width).map { x -> (Int, Int, Float) in
                let f = (Double(x) + shift) / cell
                let i = Int(f.rounded(.down))
                return (((i % columns) + columns) % columns, (((i + 1) % columns) + columns) % columns, Float(f - Double(i)))
            }
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            let spread = Float(4 / (65535 * (4.0 / 12).squareRoot()))
            pixels.withUnsafeMutableBufferPointer { out in
                for y in 0..<height {
                    let f = Double(y) / cell
                    let j = Int(f.rounded(.down)), ty = Float(f - Double(j))
                    for x in 0..<width {
                        let (i0, i1, tx) = xs[x]
                        let top = colours[j * columns + i0] * (1 - tx) + colours[j * columns + i1] * tx
                        let bottom = colours[(j + 1) * columns + i0] * (1 - tx) + colours[(j + 1) * columns + i1] * tx
                        let value = top * (1 - ty) + bottom * ty
                        for c in 0..<3 {
                            let r = rng.next()
                            let sum = (r & 0xFFFF) + (r >> 16 & 0xFFFF) + (r >> 32 & 0xFFFF) + (r >> 48)
                            let v = value[c] + (Float(sum) - 2 * 65535) * spread
                            out[(y * width + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
                        }
                    }
                }
            }
            return Image8(width: width, height: height, channels: 3, pixels: pixels)
        }
    }

    // MARK: Orbits

    func orbitGroup(_ set: OrbitSet, meshes: [URL], root: URL) throws -> Group {
        let name = "renders-\(set)"
        var options = RenderOptions()
        options.views = set.views
        options.size = set.size
        options.seed = seed
        let start = now()
        for mesh in meshes {
            let id = mesh.deletingLastPathComponent().lastPathComponent
            try RenderJob(input: mesh, objectID: id, outputFolder: root.appendingPathComponent(id), options: options).run()
        }
        let made = seconds(since: start)
        let items = try CurationRun.renderItems(root)
        let viewBytes = items.reduce(0) { sum, item in
            (0..<set.views).reduce(sum) { $0 + fileSize(item.folder.appendingPathComponent("\(RenderJob.stem($1)).png")) }
        }
        let inputs = String(format: "%d orbit(s) of %d RGBA PNG views at %dx%d (procedural shapes, %d samples per pixel, %.1f kB a view); rendered in %.1f s",
                            items.count, set.views, set.size, set.size, options.samples,
                            Double(viewBytes) / Double(max(1, items.count * set.views)) / 1e3, made)

        let configuration = CurationConfiguration.defaults(for: .renders)
        var scorer = OrbitScorer()
        scorer.viewStride = configuration.scoring.viewStride
        let stride = max(1, scorer.viewStride)
        func parts(_ pass: ArraySlice<CurationItem>) throws -> [Double] {
            var total = [Double](repeating: 0, count: Part.orbit.count)
            for item in pass {
                var clock = now()
                func lap(_ part: Int) { let t = now(); total[part] += Double(t - clock) / 1e9; clock = t }
                let cameras = try OrbitCameras.read(item.folder.appendingPathComponent(OrbitCameras.fileName))
                let views = cameras.viewsInFileOrder
                var decoded: [Int: Image8] = [:]
                for k in Swift.stride(from: 0, to: views.count, by: stride) {
                    decoded[k] = try OrbitScorer.loadView(views[k], folder: item.folder, cameras: cameras)
                }
                lap(0)
                var record = ScoreRecord(id: item.id, source: .renders, path: item.folder.path)
                scorer.fillViewScores(&record, viewCount: views.count, background: OrbitScorer.background(cameras),
                                      translucencyAbsentBecause: nil) { decoded[$0]! }
                lap(1)
            }
            return total
        }
        _ = try parts(items.prefix(1))
        var best = [Double](repeating: .infinity, count: Part.orbit.count)
        for _ in 0..<max(1, repeats) { best = zip(best, try parts(items[...])).map { min($0, $1) } }
        let whole = try fastest {
            try checked(items.map { scorer.score(folder: $0.folder, id: $0.id, manifestStatus: $0.manifestStatus) })
        }
        let run = try fastest {
            try checked(CurationRun.score(source: .renders, root: root, configuration: configuration, workers: workers))
        }
        return Group(name: name, inputs: inputs,
                     rows: rows(group: name, parts: Part.orbit, seconds: best, items: items.count,
                                wholeSeconds: whole.seconds, runSeconds: run.seconds))
    }

    // MARK: Timing and rows

    /// The fastest of `repeats` calls of `body`, with the records of the last.
    func fastest(_ body: () throws -> [ScoreRecord]) throws -> (seconds: Double, records: [ScoreRecord]) {
        var best = Double.infinity, records: [ScoreRecord] = []
        for _ in 0..<max(1, repeats) {
            let start = now()
            records = try body()
            best = min(best, seconds(since: start))
        }
        return (best, records)
    }

    func checked(_ records: [ScoreRecord]) throws -> [ScoreRecord] {
        if let bad = records.first(where: { $0.error != nil }) {
            throw CurationBenchmarkError(description: "\(bad.id) scored with an error: \(bad.error!)")
        }
        return records
    }

    func rows(group: String, parts: [String], seconds: [Double], items: Int, wholeSeconds: Double, runSeconds: Double) -> [Row] {
        let n = Double(items), sum = seconds.reduce(0, +)
        var rows = zip(parts, seconds).map { part, s in
            Row(group: group, part: part, items: items, workers: 1, msPerItem: 1000 * s / n, share: sum > 0 ? s / sum : nil)
        }
        rows.append(Row(group: group, part: Part.sumOfParts, items: items, workers: 1, msPerItem: 1000 * sum / n))
        rows.append(Row(group: group, part: Part.wholeScorer, items: items, workers: 1, msPerItem: 1000 * wholeSeconds / n,
                        itemsPerSecond: n / wholeSeconds))
        rows.append(Row(group: group, part: Part.wholeRun, items: items, workers: max(1, min(workers, items)),
                        msPerItem: 1000 * runSeconds / n, itemsPerSecond: n / runSeconds))
        return rows
    }

    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    func seconds(since start: UInt64) -> Double { Double(now() - start) / 1e9 }

    func fileSize(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

public struct CurationBenchmarkError: Error, CustomStringConvertible {
    public var description: String
}
