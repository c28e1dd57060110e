import Cameras
import Foundation
import Imaging
@testable import MultiViewData
import TestSupport
import XCTest

final class RendersTests: XCTestCase {
    /// An object folder as the renderer writes it: `views` RGBA PNGs of `size` and cameras.json.
    func makeObject(in root: URL, id: String, views: Int = 84, size: Int = 12) throws -> URL {
        let dir = root.appendingPathComponent(id)
        var list: [OrbitCameras.View] = []
        for v in 0..<views {
            let file = String(format: "%03d.png", v)
            var image = Image8(width: size, height: size, channels: 4)
            for i in 0..<(size * size) {
                image.pixels[4 * i] = UInt8(v)
                image.pixels[4 * i + 1] = UInt8(i % 256)
                image.pixels[4 * i + 2] = 50
                image.pixels[4 * i + 3] = i % 2 == 0 ? 255 : 0   // transparent pixels become white
            }
            try PNG.write(image, to: dir.appendingPathComponent(file))
            list.append(OrbitCameras.View(index: v, file: file, pose: OrbitPose(elevationDegrees: 5 + Double(v % 7), azimuthDegrees: Double(v) * 360 / Double(views), distance: 2.5)))
        }
        try OrbitCameras(objectID: id, width: size, height: size, fovDeg: 33.8, views: list)
            .write(to: dir.appendingPathComponent(OrbitCameras.fileName))
        return dir
    }

    func testReadsRendererFolders() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = try makeObject(in: root, id: "uid0")
        XCTAssertEqual(try RendersLoader.discover(root: root).map(\.lastPathComponent), [dir.lastPathComponent])
        let sequence = try RendersLoader().load(objectDirectory: dir)
        let m = sequence.metadata
        XCTAssertEqual(m.frameNames.first, "000.png")
        XCTAssertEqual(m.frameNames.last, "080.png")
        XCTAssertEqual(m.frameNames[1], "004.png")
        XCTAssertEqual(m.conditioningIndex, 20)
        XCTAssertEqual(m.azimuthsDeg.last, 0)
        XCTAssertEqual(m.azimuthsDeg[0], 360 - 80 * 360.0 / 84, accuracy: 1e-9)
        XCTAssertEqual(m.elevationsDeg[1], 5 + 4)
        XCTAssertEqual(m.source, .renders)
        let images = sequence.images()
        XCTAssertEqual(images[1][0, 0, 0], 4)       // frame 1 is view 4
        XCTAssertEqual(images[1][1, 0, 0], 255)     // transparent → white
        // Resizing scales K.
        var loader = RendersLoader()
        loader.size = 6
        let small = try loader.load(objectDirectory: dir)
        XCTAssertEqual(small.frames.shape, [21, 3, 6, 6])
        XCTAssertEqual(small.metadata.cameras[0].K[0][2], 3)
    }

    /// An 84-view orbit holds 4 interleaved samples of 21; `sampleOffset` picks one, its azimuths
    /// relative to its own last view.
    func testSampleOffsetsPickInterleavedViews() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = try makeObject(in: root, id: "uid0", size: 4)
        let cameras = try OrbitCameras.read(dir.appendingPathComponent(OrbitCameras.fileName))
        XCTAssertEqual(RendersLoader().sampleCount(cameras), 4)
        XCTAssertEqual(RendersLoader(frameCount: 12).sampleCount(cameras), 7)
        XCTAssertEqual(RendersLoader(frameCount: 16).sampleCount(cameras), 1, "16 does not divide 84: evenly spaced picks, one sample")
        var loader = RendersLoader()
        loader.sampleOffset = 3
        let m = try loader.load(objectDirectory: dir).metadata
        XCTAssertEqual(m.frameNames, (0..<21).map { String(format: "%03d.png", 3 + 4 * $0) })
        XCTAssertEqual(m.azimuthsDeg.last, 0)
        XCTAssertEqual(m.azimuthsDeg[0], 360 - 80 * 360.0 / 84, accuracy: 1e-9)
        loader.sampleOffset = 4
        XCTAssertThrowsError(try loader.load(objectDirectory: dir)) { error in
            XCTAssertEqual(error as? SequenceError, .invalid(dir.path, "sample offset 4, but the orbit's 84 views hold 4 sample(s) of 21"))
        }
    }

    /// SV3D's recipe end to end: `svdmv render --frames 84 --sample 21 --orbit dynamic` records its
    /// sample and per-view angles; the reader takes each of the 4 samples with the right views, and
    /// `svdmv dataset renders --samples-per-orbit 4` writes all four.
    func testReadsAnSV3DOrbitAsFourSamples() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-render-sv3d-\(UUID())")
        defer { try? FileManager.default.removeItem(at: out) }
        let renders = out.appendingPathComponent("renders"), shards = out.appendingPathComponent("shards")
        var (status, output) = try runSVDMV(["render", "/usr/share/assimp/models/OBJ/box.obj", "--out", renders.path,
                                             "--frames", "84", "--sample", "21", "--orbit", "dynamic",
                                             "--size", "16", "--samples", "1", "--seed", "4"])
        XCTAssertEqual(status, 0, output)
        let object = try XCTUnwrap(try RendersLoader.discover(root: renders).first)
        let cameras = try OrbitCameras.read(object.appendingPathComponent(OrbitCameras.fileName))
        XCTAssertEqual(cameras.views.count, 84)
        XCTAssertEqual(cameras.orbit?.kind, "dynamic")
        XCTAssertEqual(cameras.orbit?.sampleViews, 21)
        XCTAssertEqual(cameras.orbit?.sampleStride, 4)
        XCTAssertEqual(RendersLoader().sampleCount(cameras), 4)
        XCTAssertGreaterThan(Set(cameras.views.map(\.elevationDeg)).count, 1, "a dynamic orbit's elevation varies")
        for offset in 0..<4 {
            var loader = RendersLoader()
            loader.sampleOffset = offset
            let sequence = try loader.load(objectDirectory: object)
            let picked = (0..<21).map { cameras.views[offset + 4 * $0] }
            XCTAssertEqual(sequence.frames.shape, [21, 3, 16, 16])
            XCTAssertEqual(sequence.metadata.frameNames, picked.map(\.file))
            XCTAssertEqual(sequence.metadata.elevationsDeg, picked.map(\.elevationDeg))
            XCTAssertEqual(sequence.metadata.conditioningIndex, 20)
            for (a, view) in zip(sequence.metadata.azimuthsDeg, picked) {
                var expected = (view.azimuthDeg - picked.last!.azimuthDeg).truncatingRemainder(dividingBy: 360)
                if expected < 0 { expected += 360 }
                XCTAssertEqual(a, expected, accuracy: 1e-12)
            }
            XCTAssertEqual(sequence.metadata.azimuthsDeg.last, 0)
        }
        (status, output) = try runSVDMV(["dataset", "renders", renders.path, "--out", shards.path, "--samples-per-orbit", "4"])
        XCTAssertEqual(status, 0, output)
        let index = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: shards.appendingPathComponent("shard.index.json"))) as? [String: String])
        XCTAssertEqual(index.keys.sorted(), ["renders-box_obj", "renders-box_obj-s1", "renders-box_obj-s2", "renders-box_obj-s3"])
    }

    func testOpenCVAndBlenderExtrinsicsAgree() {
        let v = OrbitCameras.View(file: "a", pose: OrbitPose(elevationDegrees: 30, azimuthDegrees: 45, distance: 2))
        XCTAssertEqual(v.worldToCameraOpenGL[1], v.worldToCameraOpenCV[1].map { -$0 })
        // The camera centre from the OpenCV matrix sits at the requested angles.
        let m = v.worldToCameraOpenCV
        let r = Mat3(rows: Array(m[0][0..<3]), Array(m[1][0..<3]), Array(m[2][0..<3]))
        let c = -(r.transposed * Vec3(m[0][3], m[1][3], m[2][3]))
        XCTAssertEqual(asin(c.z / 2) * 180 / .pi, 30, accuracy: 1e-9)
        XCTAssertEqual(atan2(c.y, c.x) * 180 / .pi, 45, accuracy: 1e-9)
        // Blender cameras look down their −Z: the origin has negative camera z.
        XCTAssertLessThan(v.worldToCameraOpenGL[2][3], 0)
    }

    func testBadCamerasJSONNamesTheField() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let url = root.appendingPathComponent("cameras.json")
        try Data(#"{"format": "svdmv-orbit-cameras/1", "object_id": "x", "width": 4, "height": 4, "fov_deg": 30, "K": [[1,0,0],[0,1,0],[0,0,1]], "views": [{"file": "000.png"}]}"#.utf8).write(to: url)
        XCTAssertThrowsError(try RendersLoader().load(objectDirectory: root)) { error in
            XCTAssertTrue("\(error)".contains("missing field views.0."), "\(error)")
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
    }

    func testTooFewViews() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = try makeObject(in: root, id: "few", views: 5, size: 4)
        XCTAssertThrowsError(try RendersLoader().load(objectDirectory: dir)) { error in
            XCTAssertEqual(error as? SequenceError, .notEnoughFrames(dir.path, have: 5, need: 21))
        }
    }

    /// `svdmv render --background random-color` (a batch, so through the worker processes): the
    /// reader takes the views over the object's recorded colour (cameras.json `background_color`),
    /// and the twins over white lie beside them.
    func testReadsRandomColorRenders() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-render-random-color-\(UUID())")
        defer { try? FileManager.default.removeItem(at: out) }
        let list = out.appendingPathComponent("list.txt"), renders = out.appendingPathComponent("renders")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try "/usr/share/assimp/models/OBJ/box.obj\n".write(to: list, atomically: true, encoding: .utf8)
        let (status, output) = try runSVDMV(["render", list.path, "--out", renders.path, "--size", "24", "--samples", "1",
                                             "--background", "random-color", "--seed", "5"])
        XCTAssertEqual(status, 0, output)
        let object = try XCTUnwrap(try RendersLoader.discover(root: renders).first)
        let cameras = try OrbitCameras.read(object.appendingPathComponent(OrbitCameras.fileName))
        let color = try XCTUnwrap(cameras.backgroundColor)
        XCTAssertEqual(cameras.background, "random-color")
        XCTAssertEqual(cameras.onWhite?.file, "NNN-white.png")
        let sequence = try RendersLoader(frameCount: 21).load(objectDirectory: object)
        XCTAssertEqual(sequence.frames.shape, [21, 3, 24, 24])
        let corner = (0..<3).map { c in sequence.frames.scalars[c * 24 * 24] }       // frame 0, pixel (0, 0)
        XCTAssertEqual(corner, color.map { Float($0) / 127.5 - 1 })
        let white = try PNG.read(object.appendingPathComponent("000-white.png"))
        XCTAssertEqual([white[0, 0, 0], white[0, 0, 1], white[0, 0, 2]], [255, 255, 255])
    }

    /// The contract between the renderer and this reader: `svdmv render`'s output folder loads as
    /// a training sequence whose angles are the renderer's, the conditioning view last at azimuth 0.
    func testReadsWhatTheRendererWrites() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-render-contract-\(UUID())")
        defer { try? FileManager.default.removeItem(at: out) }
        let (status, output) = try runSVDMV(["render", "/usr/share/assimp/models/OBJ/box.obj", "--out", out.path,
                                             "--size", "32", "--samples", "1", "--elevation", "12.5"])
        XCTAssertEqual(status, 0, output)
        let object = try RendersLoader.discover(root: out)
        XCTAssertEqual(object.count, 1)
        let sequence = try RendersLoader(frameCount: 21).load(objectDirectory: object[0])
        XCTAssertEqual(sequence.frames.shape, [21, 3, 32, 32])
        XCTAssertEqual(sequence.metadata.elevationsDeg, Array(repeating: 12.5, count: 21))
        XCTAssertEqual(sequence.metadata.conditioningIndex, 20)
        XCTAssertEqual(sequence.metadata.azimuthsDeg.last!, 0, accuracy: 1e-9)
        XCTAssertEqual(sequence.metadata.azimuthsDeg[0], 360.0 / 21, accuracy: 1e-6, "the renderer's view 0 is the input view's next neighbour")
        // The renderer's file round-trips through the one reader: read and written again, the same bytes.
        let file = object[0].appendingPathComponent(OrbitCameras.fileName)
        let cameras = try OrbitCameras.read(file)
        XCTAssertEqual(try cameras.encoded(), try Data(contentsOf: file))
        XCTAssertEqual(cameras.schemaVersion, OrbitCameras.currentVersion)
        XCTAssertEqual(cameras.normalization?.yUpToZUp, true, "an OBJ is Y-up")
        XCTAssertNil(cameras.generation)
    }
}
