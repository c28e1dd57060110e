// End-to-end through the built `svdmv` binary (a failure naming where it looked when it has not
// been built): a batch, whose objects render in worker processes with forwarded options, writes
// the same bytes as rendering the file directly in-process; bad options fail validation with exit
// status 64.

import Foundation
@testable import Render
import TestSupport
import XCTest

final class CLITests: XCTestCase {
    /// Runs the `svdmv` next to the test bundle (`swift build` puts both in .build/<triple>/debug);
    /// returns its exit status and what it wrote on stderr.
    func run(_ arguments: [String]) throws -> (status: Int32, errors: String) {
        let result = try runProcess(try svdmvExecutable(), arguments)
        return (result.status, result.stderr)
    }

    func testBatchWorkersRenderLikeTheLibrary() throws {
        let input = try corpusFile("glTF2/BoxTextured-glTF-Binary/BoxTextured.glb")
        let folder = temporaryFolder("cli-in"), out = temporaryFolder("cli-out"), direct = temporaryFolder("cli-direct")
        defer { for f in [folder, out, direct] { try? FileManager.default.removeItem(at: f) } }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: input, to: folder.appendingPathComponent("box.glb"))
        try "not a mesh".write(to: folder.appendingPathComponent("bad.ply"), atomically: true, encoding: .utf8)
        let result = try run(["render", folder.path, "--out", out.path, "--views", "3", "--size", "40",
                              "--elevation-range", "-20:-10", "--azimuth-start", "-15", "--fov", "40", "--samples", "9",
                              "--background", "white", "--depth", "--normals", "--seed", "3", "--png", "small",
                              "--orbit", "dynamic", "--sample", "1",
                              "--jobs", "2"])
        XCTAssertEqual(result.status, 0, result.errors)
        var options = RenderOptions()
        options.views = 3
        options.size = 40
        options.elevation = .range(-20, -10)
        options.azimuthStart = -15
        options.fovDegrees = 40
        options.samples = 9
        options.background = .white
        options.writeDepth = true
        options.writeNormals = true
        options.seed = 3
        options.pngCompression = .small
        options.orbit = .dynamic
        options.sampleViews = 1
        try RenderJob(input: folder.appendingPathComponent("box.glb"), objectID: "box.glb",
                      outputFolder: direct, options: options).run()
        let names = try FileManager.default.contentsOfDirectory(atPath: direct.path).sorted()
        XCTAssertEqual(names.count, 10)
        for name in names where name != "cameras.json" {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("box.glb/\(name)")),
                           try Data(contentsOf: direct.appendingPathComponent(name)), name)
        }
        // cameras.json differs only in the source path
        let a = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("box.glb/cameras.json"))) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(contentsOf: direct.appendingPathComponent("cameras.json"))) as? NSDictionary
        XCTAssertEqual(a?["views"] as? NSArray, b?["views"] as? NSArray)
        XCTAssertEqual(a?["elevation_deg"] as? Double, b?["elevation_deg"] as? Double)
        XCTAssertEqual(a?["orbit"] as? NSDictionary, b?["orbit"] as? NSDictionary)
        XCTAssertEqual((a?["orbit"] as? NSDictionary)?["kind"] as? String, "dynamic")
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("box.glb\tok\t"), manifest)
        XCTAssertTrue(manifest.contains("bad.ply\terror: \(folder.path)/bad.ply: "), manifest)
    }

    /// A list's relative paths resolve against the list's folder, wherever svdmv runs; a missing
    /// file's manifest line carries the worker's own error, not ArgumentParser's help hint.
    func testListPathsResolveAgainstTheListAndFailuresKeepTheirReason() throws {
        let folder = temporaryFolder("cli-list"), out = temporaryFolder("cli-list-out")
        defer { for f in [folder, out] { try? FileManager.default.removeItem(at: f) } }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".write(to: folder.appendingPathComponent("sub/tri.obj"), atomically: true, encoding: .utf8)
        try "sub/tri.obj\nsub/missing.obj\n".write(to: folder.appendingPathComponent("list.txt"), atomically: true, encoding: .utf8)
        let result = try run(["render", folder.appendingPathComponent("list.txt").path, "--out", out.path, "--views", "2", "--size", "16"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertTrue(result.errors.contains("relative paths in a list resolve against the list's folder"), result.errors)
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.tsv"), encoding: .utf8)
        XCTAssertTrue(manifest.contains("sub__tri.obj\tok\t"), manifest)
        let missing = folder.appendingPathComponent("sub/missing.obj").path
        XCTAssertTrue(manifest.contains("sub__missing.obj\terror: no such file or folder: \(missing)\t"), manifest)
        XCTAssertFalse(manifest.contains("--help"), manifest)
    }

    func testValidationErrors() throws {
        for bad in [["--samples", "3"], ["--elevation-range=30:-5"], ["--shard", "2/2"], ["--fov", "0"], ["--views", "0"],
                    ["--frames", "84", "--sample", "20"]] {
            let result = try run(["render", "/usr", "--out", "/tmp/unused"] + bad)
            XCTAssertEqual(result.status, 64, "\(bad): \(result.errors)")
            XCTAssertTrue(result.errors.contains("Error: --"), result.errors)
        }
    }
}
