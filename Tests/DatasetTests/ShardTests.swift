import Cameras
import Foundation
import Imaging
@testable import MultiViewData
import TestSupport
import XCTest

/// A small synthetic sequence: frame t filled with a gradient that depends on t and `seed`.
func syntheticSequence(id: String, frames: Int = 21, size: Int = 8, seed: Int = 0) -> TrainingSequence {
    let images = (0..<frames).map { t -> Image8 in
        var image = Image8(width: size, height: size, channels: 3)
        for y in 0..<size {
            for x in 0..<size {
                let i = y * size + x
                image.pixels[3 * i] = UInt8((x * 96 / size + t * 5 + seed * 13) % 256)
                image.pixels[3 * i + 1] = UInt8((y * 96 / size + t * 3 + seed) % 256)
                image.pixels[3 * i + 2] = UInt8((seed * 31 + 40) % 256)
            }
        }
        return image
    }
    let views = (0..<frames).map {
        OrbitCameras.View(file: String(format: "%03d.png", $0), pose: OrbitPose(elevationDegrees: 10, azimuthDegrees: Double($0) * 360 / Double(frames), distance: 2))
    }
    let metadata = SequenceMetadata(
        source: .renders, objectID: id, width: size, height: size, conditioningIndex: frames - 1,
        elevationsDeg: views.map(\.elevationDeg), azimuthsDeg: views.map(\.azimuthDeg), distances: views.map(\.distance),
        cameras: views.map { FrameCamera(K: PinholeIntrinsics.matrix(width: size, height: size, fovDegrees: 33.8), worldToCamera: $0.worldToCameraOpenCV) },
        frameNames: views.map(\.file))
    return TrainingSequence(metadata: metadata, images: images)
}

final class ShardTests: XCTestCase {
    func testTarRoundTripAndHeaderLayout() throws {
        let members = [TarMember(name: "a.json", data: Data("{}".utf8)),
                       TarMember(name: "a.000.png", data: Data(repeating: 7, count: 513)),
                       TarMember(name: "b.json", data: Data())]
        var archive = Data()
        for m in members { archive.append(try Tar.memberBytes(m)) }
        archive.append(Tar.trailer)
        XCTAssertEqual(archive.count % 512, 0)
        XCTAssertEqual(archive.count, 512 + 512 + 512 + 1024 + 512 + 1024)
        XCTAssertEqual(try Tar.read(archive, path: "x.tar"), members)
        let header = try Tar.header(name: "a.json", size: 2)
        XCTAssertEqual(String(decoding: header[257..<263], as: UTF8.self), "ustar\0")
        XCTAssertEqual(String(decoding: header[124..<136], as: UTF8.self), "00000000002\0")
        XCTAssertEqual(String(decoding: header[100..<108], as: UTF8.self), "0000444\0")
        XCTAssertThrowsError(try Tar.header(name: String(repeating: "x", count: 101), size: 0)) { error in
            XCTAssertEqual(error as? TarError, .nameTooLong(String(repeating: "x", count: 101)))
        }
    }

    func testCorruptAndTruncatedTarsNameTheOffset() throws {
        var archive = Data()
        archive.append(try Tar.memberBytes(TarMember(name: "a.json", data: Data("{}".utf8))))
        archive.append(try Tar.memberBytes(TarMember(name: "a.000.png", data: Data(repeating: 1, count: 600))))
        archive.append(Tar.trailer)
        var bad = archive
        bad[1024 + 3] ^= 0x55   // a name byte of the second header
        XCTAssertThrowsError(try Tar.read(bad, path: "s.tar")) { error in
            guard case .badHeader("s.tar", 1024, let reason)? = error as? TarError else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.hasPrefix("checksum"), reason)
        }
        XCTAssertThrowsError(try Tar.read(archive.prefix(1024 + 512 + 100), path: "s.tar")) { error in
            XCTAssertEqual(error as? TarError, .truncated(path: "s.tar", offset: 1636, what: "member data of the header at byte 1024"))
        }
        XCTAssertThrowsError(try Tar.read(archive.prefix(1024 + 1024 + 512), path: "s.tar")) { error in
            guard case .truncated("s.tar", 2560, _)? = error as? TarError else { return XCTFail("\(error)") }
        }
    }

    func testKeysFollowWebdatasetRules() {
        XCTAssertEqual(shardKey("7/capture.0 x"), "7_capture_0_x")
        let groups = shardSamples([TarMember(name: "dir/k1.000.png", data: Data([1])), TarMember(name: "dir/k1.json", data: Data([2])),
                                   TarMember(name: "k2.json", data: Data([3]))])
        XCTAssertEqual(groups.map(\.key), ["dir/k1", "k2"])
        XCTAssertEqual(groups[0].fields.keys.sorted(), ["000.png", "json"])
    }

    func testShardRoundTripIsExact() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = MVImgNetOptions()
        options.size = 32
        let real = try MVImgNetLoader(options: options).load(MVImgNetCapture(directory: Fixtures.capture))
        let samples = [("mvimgnet-7-capture0", real), ("synthetic-1", syntheticSequence(id: "s1", size: 32, seed: 1)),
                       ("synthetic-2", syntheticSequence(id: "s2", size: 32, seed: 2))]
        let writer = ShardWriter(directory: dir, prefix: "test", maxSamples: 2)
        for (key, s) in samples { try writer.write(s, key: key) }
        let shards = try writer.finish()
        XCTAssertEqual(shards.map(\.lastPathComponent), ["test-000000.tar", "test-000001.tar"])
        XCTAssertEqual(try ShardReader.shards(in: dir), shards)
        XCTAssertThrowsError(try writer.write(real, key: "synthetic-1"), "duplicate keys are refused") { error in
            XCTAssertEqual(error as? SequenceError, .invalid("synthetic-1", "duplicate sample key"))
        }

        let reader = ShardReader(urls: shards)
        var read: [(String, TrainingSequence)] = []
        while let item = try reader.next() { read.append(item) }
        XCTAssertEqual(read.map(\.0), samples.map(\.0))
        for ((_, a), (_, b)) in zip(read, samples) {
            XCTAssertEqual(a.metadata, b.metadata)
            XCTAssertEqual(a.frames.scalars, b.frames.scalars)
        }
    }

    func testJPEGFramesRoundTripClosely() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sample = syntheticSequence(id: "j", size: 16)
        let writer = ShardWriter(directory: dir, format: .jpg)
        try writer.write(sample, key: "j")
        let reader = ShardReader(urls: try writer.finish())
        let back = try XCTUnwrap(try reader.next())
        XCTAssertEqual(back.sequence.metadata, sample.metadata)
        let a = back.sequence.frames.scalars, b = sample.frames.scalars
        let mae = zip(a, b).map { abs($0 - $1) }.reduce(0, +) / Float(a.count)
        XCTAssertLessThan(mae, 0.03)
    }

    func testShuffleIsSeededAndComplete() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = ShardWriter(directory: dir, maxSamples: 3)
        for i in 0..<9 { try writer.write(syntheticSequence(id: "o\(i)", frames: 3, size: 4, seed: i), key: "o\(i)") }
        let shards = try writer.finish()
        XCTAssertEqual(shards.count, 3)
        func order(seed: UInt64, shuffleShards: Bool = true) throws -> [String] {
            let reader = ShardReader(urls: shards, options: ShardReaderOptions(shuffleBuffer: 4, seed: seed, shuffleShards: shuffleShards, prefetch: 1))
            var keys: [String] = []
            while let item = try reader.next() {
                XCTAssertEqual(item.sequence.metadata.objectID, item.key)
                keys.append(item.key)
            }
            return keys
        }
        let a = try order(seed: 42), b = try order(seed: 42), c = try order(seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertEqual(Set(a), Set((0..<9).map { "o\($0)" }))
        XCTAssertEqual(a.count, 9)
        XCTAssertNotEqual(a, c)
        XCTAssertNotEqual(a, (0..<9).map { "o\($0)" })
    }

    func testDroppingAReaderEarlyStopsItsThread() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = ShardWriter(directory: dir)
        for i in 0..<6 { try writer.write(syntheticSequence(id: "d\(i)", frames: 2, size: 4, seed: i), key: "d\(i)") }
        let urls = try writer.finish()
        weak var weakReader: ShardReader?
        do {
            let reader = ShardReader(urls: urls, options: ShardReaderOptions(prefetch: 1))
            weakReader = reader
            XCTAssertEqual(try reader.next()?.key, "d0")
        }
        XCTAssertNil(weakReader, "the prefetch thread must not keep the reader alive")
    }

    func testReaderReportsCorruptShard() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = ShardWriter(directory: dir)
        try writer.write(syntheticSequence(id: "x", frames: 2, size: 4), key: "x")
        let url = try writer.finish()[0]
        var bytes = try Data(contentsOf: url)
        bytes = bytes.prefix(bytes.count - 1024 - 200)
        try bytes.write(to: url)
        let reader = ShardReader(urls: [url])
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            XCTAssertTrue("\(error)".contains("byte"), "\(error)")
        }
    }

    /// Shards written by Python's tarfile (GNU and pax formats, with names over 100 bytes) read back.
    func testReadsTarsWrittenByPythonTarfile() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let long = String(repeating: "k", count: 120)
        let script = """
        import io, sys, tarfile
        for fmt, name in ((tarfile.GNU_FORMAT, "gnu.tar"), (tarfile.PAX_FORMAT, "pax.tar"), (tarfile.USTAR_FORMAT, "ustar.tar")):
            with tarfile.open(sys.argv[1] + "/" + name, "w", format=fmt) as t:
                key = sys.argv[2] if fmt != tarfile.USTAR_FORMAT else "short"
                for field, data in (("000.bin", b"abc"), ("json", b'{"a": 1}')):
                    info = tarfile.TarInfo(key + "." + field)
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
        """
        try runPython(script, [dir.path, long])
        for (file, key) in [("gnu.tar", long), ("pax.tar", long), ("ustar.tar", "short")] {
            let members = try Tar.read(Data(contentsOf: dir.appendingPathComponent(file)), path: file)
            let samples = shardSamples(members)
            XCTAssertEqual(samples.map(\.key), [key], file)
            XCTAssertEqual(samples.first?.fields["000.bin"], Data("abc".utf8), file)
            XCTAssertEqual(samples.first?.fields["json"], Data(#"{"a": 1}"#.utf8), file)
        }
    }

    /// Runs `python3 -c script arguments...`; fails the test when it exits non-zero, with its output.
    @discardableResult
    func runPython(_ script: String, _ arguments: [String],
                   file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let result = try runProcess(try pythonExecutable(), ["-c", script] + arguments, mergeOutput: true)
        XCTAssertEqual(result.status, 0, result.stdout, file: file, line: line)
        return result.stdout
    }

    /// Python's standard-library tarfile must read our shards (webdataset itself is checked by
    /// Scripts/fixtures/check_shard_webdataset.py; CI has python3 but not webdataset).
    func testPythonTarfileReadsShards() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = ShardWriter(directory: dir)
        try writer.write(syntheticSequence(id: "p0", frames: 3, size: 4), key: "p0")
        try writer.write(syntheticSequence(id: "p1", frames: 3, size: 4, seed: 1), key: "p1")
        let url = try writer.finish()[0]
        let script = """
        import json, sys, tarfile
        with tarfile.open(sys.argv[1]) as t:
            for m in t.getmembers():
                data = t.extractfile(m).read()
                extra = json.loads(data)["object_id"] if m.name.endswith(".json") else len(data)
                print(m.name, oct(m.mode), m.size, extra)
        """
        let output = try runPython(script, [url.path])
        let lines = output.split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertEqual(lines.map { String($0[0]) },
                       ["p0.000.png", "p0.001.png", "p0.002.png", "p0.json", "p1.000.png", "p1.001.png", "p1.002.png", "p1.json"])
        XCTAssertTrue(lines.allSatisfy { $0[1] == "0o444" }, output)
        XCTAssertEqual(lines[3].last.map(String.init), "p0")
        XCTAssertEqual(lines[7].last.map(String.init), "p1")
    }
}
