// Reading orbit shards for the commands that take `--data SHARDS` (train, probe).

import Foundation
import MultiViewData

/// The first `limit` sequences of the shards at `path`, checked to fit a model of `size`.
func loadTrainingSequences(_ path: String, size: Int, limit: Int) throws -> [TrainingSequence] {
    let (sequences, shardCount) = try TrainingShards.load(path, size: size, limit: limit)
    print("loaded \(sequences.count) sequences of \(sequences[0].metadata.frameCount) frames from \(shardCount) shard(s)")
    return sequences
}

/// What identifies the shards at `path` for a cache: each shard file's path, size and
/// modification time, and the sample limit.
func shardsKey(_ path: String, limit: Int) throws -> String {
    let urls = try TrainingShards.urls(path)
    return try urls.map { url -> String in
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return "\(url.standardizedFileURL.path)|\(size)|\(modified)"
    }.joined(separator: ";") + ";limit=\(limit)"
}
