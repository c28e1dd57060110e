// Reading orbit shards for the commands that take `--data SHARDS` (train, probe).

import Foundation
import MultiViewData

/// The first `limit` sequences of the shards at `path`, checked to fit a model of `size`.
func loadTrainingSequences(_ path: String, size: Int, limit: Int) throws -> [TrainingSequence] {
    let (sequences, shardCount) = try TrainingShards.load(path, size: size, limit: limit)
    print("loaded \(sequences.count) sequences of \(sequences[0].metadata.frameCount) frames from \(shardCount) shard(s)")
    return sequences
}
