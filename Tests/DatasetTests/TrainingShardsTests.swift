// The checks training and probing make of a shard set before a run starts: the model's frame size
// and the conditioning view last, each refusal naming the sample; a missing or empty path named.

import Foundation
@testable import MultiViewData
import TestSupport
import XCTest

final class TrainingShardsTests: XCTestCase {
    func testLoadsSequencesThatFitAndRefusesThoseThatDoNot() throws {
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let writer = ShardWriter(directory: root, maxSamples: 10)
        for i in 0..<3 { try writer.write(syntheticSequence(id: "obj\(i)", frames: 5, size: 8, seed: i), key: "obj\(i)") }
        _ = try writer.finish()

        let (sequences, shardCount) = try TrainingShards.load(root.path, size: 8, limit: 2)
        XCTAssertEqual(sequences.count, 2, "the limit")
        XCTAssertEqual(shardCount, 1)
        XCTAssertThrowsError(try TrainingShards.load(root.path, size: 16, limit: 10)) { error in
            XCTAssertEqual(error as? SequenceError, .invalid("sample obj0", "is 8x8; the model takes 16x16 (build the shards with --size 16)"))
        }

        var first = syntheticSequence(id: "x", frames: 5, size: 8)
        first.metadata.conditioningIndex = 0
        XCTAssertThrowsError(try TrainingShards.check(first, key: "x", size: 8)) { error in
            XCTAssertEqual(error as? SequenceError, .invalid("sample x", "the conditioning view must be the last frame"))
        }
        let missing = root.appendingPathComponent("nothing-here").path
        XCTAssertThrowsError(try TrainingShards.urls(missing)) { error in
            XCTAssertEqual(error as? SequenceError, .invalid(missing, "no such file or folder"))
        }
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try TrainingShards.urls(empty.path)) { error in
            XCTAssertEqual(error as? SequenceError, .invalid(empty.path, "holds no .tar shards"))
        }
    }
}
