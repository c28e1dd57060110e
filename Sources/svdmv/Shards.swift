// Reading orbit shards for the commands that take `--data SHARDS` (train, probe).

import ArgumentParser
import Foundation
import MultiViewData

/// The shards of a folder, or one shard file.
func shardURLs(_ path: String) throws -> [URL] {
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw ValidationError("no such file or folder: \(path)")
    }
    let urls = isDirectory.boolValue ? try ShardReader.shards(in: url) : [url]
    guard !urls.isEmpty else { throw ValidationError("\(path) holds no .tar shards") }
    return urls
}

/// The first `limit` sequences of the shards at `path`, each checked to be `size`x`size` with the
/// conditioning view last (SV3D's convention, which training and the probe rely on).
func loadTrainingSequences(_ path: String, size: Int, limit: Int) throws -> [TrainingSequence] {
    let urls = try shardURLs(path)
    let reader = ShardReader(urls: urls)
    var out: [TrainingSequence] = []
    while out.count < limit, let (key, sequence) = try reader.next() {
        guard sequence.metadata.conditioningIndex == sequence.metadata.frameCount - 1 else {
            throw ValidationError("sample \(key): the conditioning view must be the last frame")
        }
        guard sequence.metadata.width == size, sequence.metadata.height == size else {
            throw ValidationError("sample \(key) is \(sequence.metadata.width)x\(sequence.metadata.height); the model takes \(size)x\(size) (build the shards with --size \(size))")
        }
        out.append(sequence)
    }
    guard !out.isEmpty else { throw ValidationError("no samples in \(path)") }
    print("loaded \(out.count) sequences of \(out[0].metadata.frameCount) frames from \(urls.count) shard(s)")
    return out
}
