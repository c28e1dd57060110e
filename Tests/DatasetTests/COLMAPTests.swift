import Foundation
@testable import MultiViewData
import XCTest

/// The fixture capture (Scripts/fixtures/make_dataset_fixtures.py).
enum Fixtures {
    static var root: URL { Bundle.module.resourceURL!.appendingPathComponent("Fixtures") }
    static var capture: URL { root.appendingPathComponent("mvimgnet/7/capture0") }
    static var sparse: URL { capture.appendingPathComponent("sparse/0") }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: root.appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-dataset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

final class COLMAPTests: XCTestCase {
    /// pycolmap's view of the fixture (JSONDecoder: JSONSerialization rounds 17-digit doubles).
    struct Dump: Decodable {
        struct Camera: Decodable { var id: Int; var model_id: Int; var model: String; var width: Int; var height: Int; var params: [Double] }
        struct Image: Decodable {
            var id: Int; var qvec: [Double]; var tvec: [Double]; var camera_id: Int; var name: String
            var points2D: [[Double]]; var centre: [Double]
        }
        struct Point: Decodable { var id: Int; var xyz: [Double]; var rgb: [Int]; var error: Double; var track: [[Int]] }
        var cameras: [Camera]; var images: [Image]; var points3D: [Point]
    }

    /// Every field of `model` against pycolmap's reading of the same binary files.
    private func assertMatchesPycolmap(_ model: COLMAPModel, file: StaticString = #filePath, line: UInt = #line) throws {
        let dump = try JSONDecoder().decode(Dump.self, from: Data(contentsOf: Fixtures.root.appendingPathComponent("capture0_pycolmap.json")))
        XCTAssertEqual(model.cameras.count, dump.cameras.count, file: file, line: line)
        for (c, e) in zip(model.cameras.sorted { $0.id < $1.id }, dump.cameras) {
            XCTAssertEqual(Int(c.id), e.id, file: file, line: line)
            XCTAssertEqual(Int(c.model.rawValue), e.model_id, file: file, line: line)
            XCTAssertEqual(c.model.name, e.model, file: file, line: line)
            XCTAssertEqual(Int(c.width), e.width, file: file, line: line)
            XCTAssertEqual(Int(c.height), e.height, file: file, line: line)
            XCTAssertEqual(c.params, e.params, "camera \(c.id)", file: file, line: line)
        }
        XCTAssertEqual(Set(model.cameras.map(\.model)), Set(CameraModel.allCases), "every model id present")

        XCTAssertEqual(model.images.count, dump.images.count, file: file, line: line)
        for (im, e) in zip(model.images.sorted { $0.id < $1.id }, dump.images) {
            XCTAssertEqual(Int(im.id), e.id, file: file, line: line)
            XCTAssertEqual(im.name, e.name, file: file, line: line)
            XCTAssertEqual(Int(im.cameraID), e.camera_id, file: file, line: line)
            for (a, b) in zip(im.qvec, e.qvec) { XCTAssertEqual(a, b, accuracy: 1e-12, file: file, line: line) }
            XCTAssertEqual([im.tvec.x, im.tvec.y, im.tvec.z], e.tvec, file: file, line: line)
            let centre = im.pose.centre
            for (a, b) in zip([centre.x, centre.y, centre.z], e.centre) { XCTAssertEqual(a, b, accuracy: 1e-9, file: file, line: line) }
            XCTAssertEqual(im.points2D.count, e.points2D.count, file: file, line: line)
            for (p, ep) in zip(im.points2D, e.points2D) {
                XCTAssertEqual(p.x, ep[0], file: file, line: line)
                XCTAssertEqual(p.y, ep[1], file: file, line: line)
                XCTAssertEqual(p.point3DID, ep[2] < 0 ? COLMAPPoint2D.invalidPoint3D : UInt64(ep[2]), file: file, line: line)
            }
        }

        XCTAssertEqual(model.points3D.count, dump.points3D.count, file: file, line: line)
        for (p, e) in zip(model.points3D.sorted { $0.id < $1.id }, dump.points3D) {
            XCTAssertEqual(Int(p.id), e.id, file: file, line: line)
            XCTAssertEqual([p.xyz.x, p.xyz.y, p.xyz.z], e.xyz, file: file, line: line)
            XCTAssertEqual(p.rgb.map(Int.init), e.rgb, file: file, line: line)
            XCTAssertEqual(p.error, e.error, file: file, line: line)
            let track = e.track.map { COLMAPTrackElement(imageID: UInt32($0[0]), point2DIndex: UInt32($0[1])) }
            XCTAssertEqual(p.track, track, file: file, line: line)
        }
    }

    func testBinaryModelMatchesPycolmap() throws {
        try assertMatchesPycolmap(try COLMAPModel.read(directory: Fixtures.sparse))
    }

    func testTextModelWrittenByPycolmapMatches() throws {
        let text = try COLMAPModel.read(directory: Fixtures.root.appendingPathComponent("colmap_text/capture0"))
        try assertMatchesPycolmap(text)
    }

    func testBinaryWriterRoundTripsEveryModel() throws {
        let model = try COLMAPModel.read(directory: Fixtures.sparse)
        XCTAssertEqual(model.camerasBinary(), [UInt8](try Data(contentsOf: Fixtures.sparse.appendingPathComponent("cameras.bin"))))
        XCTAssertEqual(model.imagesBinary(), [UInt8](try Data(contentsOf: Fixtures.sparse.appendingPathComponent("images.bin"))))
        XCTAssertEqual(model.points3DBinary(), [UInt8](try Data(contentsOf: Fixtures.sparse.appendingPathComponent("points3D.bin"))))
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.writeBinary(directory: dir)
        XCTAssertEqual(try COLMAPModel.read(directory: dir), model)
    }

    func testParameterCountsMatchColmap() {
        XCTAssertEqual(CameraModel.allCases.map(\.parameterCount), [3, 4, 4, 5, 8, 8, 12, 5, 4, 5, 12, 16, 4, 5, 3, 4, 6, 2])
        XCTAssertEqual(CameraModel(name: "OPENCV_FISHEYE"), .opencvFisheye)
        XCTAssertNil(CameraModel(name: "NOPE"))
    }

    func testTruncatedFilesNameFileAndOffset() throws {
        let source = Fixtures.sparse
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["cameras.bin", "images.bin", "points3D.bin"] {
            let bytes = [UInt8](try Data(contentsOf: source.appendingPathComponent(name)))
            for cut in [0, 3, 8, 13, 40, bytes.count / 2, bytes.count - 1] {
                let url = dir.appendingPathComponent(name)
                try Data(bytes[0..<cut]).write(to: url)
                let read: () throws -> Void = {
                    switch name {
                    case "cameras.bin": _ = try COLMAPModel.readCamerasBinary(url)
                    case "images.bin": _ = try COLMAPModel.readImagesBinary(url)
                    default: _ = try COLMAPModel.readPoints3DBinary(url)
                    }
                }
                XCTAssertThrowsError(try read(), "\(name) cut at \(cut)") { error in
                    guard let e = error as? COLMAPError else { return XCTFail("\(error)") }
                    XCTAssertTrue(e.description.contains(url.path), e.description)
                    switch e {
                    case .truncated(_, let offset, _):
                        XCTAssertLessThanOrEqual(offset, cut, e.description)
                    case .corrupt(_, let offset, let reason):  // a count larger than the bytes left
                        XCTAssertEqual(offset, 0, e.description)
                        XCTAssertTrue(reason.contains("num_"), reason)
                    default: XCTFail("\(e)")
                    }
                }
            }
        }
    }

    func testCorruptFilesAreRejected() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var cameras = [UInt8](try Data(contentsOf: Fixtures.sparse.appendingPathComponent("cameras.bin")))
        cameras[12] = 99  // model_id of camera[0]
        let url = dir.appendingPathComponent("cameras.bin")
        try Data(cameras).write(to: url)
        XCTAssertThrowsError(try COLMAPModel.readCamerasBinary(url)) { error in
            XCTAssertEqual(error as? COLMAPError, .corrupt(path: url.path, offset: 12, reason: "camera[0] (id 1) has unknown model_id 99"))
        }
        // A huge count is caught before any allocation.
        var images = [UInt8](try Data(contentsOf: Fixtures.sparse.appendingPathComponent("images.bin")))
        images[7] = 0x40
        let imagesURL = dir.appendingPathComponent("images.bin")
        try Data(images).write(to: imagesURL)
        XCTAssertThrowsError(try COLMAPModel.readImagesBinary(imagesURL)) { error in
            guard case .corrupt(_, 0, let reason)? = error as? COLMAPError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.hasPrefix("num_reg_images"), reason)
        }
        // A quaternion that is not a rotation.
        images = [UInt8](try Data(contentsOf: Fixtures.sparse.appendingPathComponent("images.bin")))
        images[12 + 7] = 0x7F
        try Data(images).write(to: imagesURL)
        XCTAssertThrowsError(try COLMAPModel.readImagesBinary(imagesURL)) { error in
            guard case .corrupt(_, 12, let reason)? = error as? COLMAPError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("quaternion"), reason)
        }
        // Trailing garbage.
        try Data(cameras.prefix(8) + [0, 0, 0, 0, 0, 0, 0, 0] + [1]).write(to: url)
        try Data([0, 0, 0, 0, 0, 0, 0, 0, 7]).write(to: url)
        XCTAssertThrowsError(try COLMAPModel.readCamerasBinary(url)) { error in
            XCTAssertEqual(error as? COLMAPError, .corrupt(path: url.path, offset: 8, reason: "1 unexpected trailing bytes"))
        }
    }

    func testBadTextLinesNameFileAndLine() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("cameras.txt")
        try "# comment\n1 PINHOLE 640 480 500 500 320\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try COLMAPModel.readCamerasText(url)) { error in
            XCTAssertEqual(error as? COLMAPError, .badLine(path: url.path, line: 2, reason: "missing PARAMS[3] of PINHOLE"))
        }
        try "1 PINHOLE 640 480 500 x 320 240\n".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try COLMAPModel.readCamerasText(url)) { error in
            XCTAssertEqual(error as? COLMAPError, .badLine(path: url.path, line: 1, reason: "PARAMS[1] of PINHOLE 'x' is not a valid Double"))
        }
        let images = dir.appendingPathComponent("images.txt")
        try "1 1 0 0 0 0 0 0 1 a.jpg\n1.0 2.0\n".write(to: images, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try COLMAPModel.readImagesText(images)) { error in
            guard case .badLine(_, 2, _)? = error as? COLMAPError else { return XCTFail("\(error)") }
        }
        // An image with no observations keeps an empty second line.
        try "1 1 0 0 0 0 0 0 1 a.jpg\n\n2 1 0 0 0 0 0 0 1 b.jpg\n3 4 -1\n".write(to: images, atomically: true, encoding: .utf8)
        let parsed = try COLMAPModel.readImagesText(images)
        XCTAssertEqual(parsed.map(\.name), ["a.jpg", "b.jpg"])
        XCTAssertEqual(parsed[1].points2D, [COLMAPPoint2D(x: 3, y: 4, point3DID: COLMAPPoint2D.invalidPoint3D)])
    }

    func testMissingModelIsReported() {
        let url = URL(fileURLWithPath: "/nonexistent/sparse/0")
        XCTAssertThrowsError(try COLMAPModel.read(directory: url)) { error in
            XCTAssertEqual(error as? COLMAPError, .missing(path: "/nonexistent/sparse/0/cameras.bin"))
        }
    }
}
