// Orbit shards as training and probing read them: a folder of shards or one shard file, each
// sequence checked to fit the model (its size, the conditioning view last as SV3D's training data
// has it), so a wrong data set fails before a run starts rather than inside it.

import Foundation

public enum TrainingShards {
    /// The shards of a folder, or one shard file.
    public static func urls(_ path: String) throws -> [URL] {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw SequenceError.invalid(path, "no such file or folder")
        }
        let urls = isDirectory.boolValue ? try ShardReader.shards(in: url) : [url]
        guard !urls.isEmpty else { throw SequenceError.invalid(path, "holds no .tar shards") }
        return urls
    }

    /// The first `limit` sequences of the shards at `path`, each `size` x `size` with the
    /// conditioning view last; `shardCount` is how many shard files were read.
    public static func load(_ path: String, size: Int, limit: Int) throws -> (sequences: [TrainingSequence], shardCount: Int) {
        let urls = try urls(path)
        let reader = ShardReader(urls: urls)
        var out: [TrainingSequence] = []
        while out.count < limit, let (key, sequence) = try reader.next() {
            try check(sequence, key: key, size: size)
            out.append(sequence)
        }
        guard !out.isEmpty else { throw SequenceError.invalid(path, "no samples") }
        return (out, urls.count)
    }

    /// Whether a sample fits a model taking `size` x `size` frames, the conditioning view last.
    public static func check(_ sequence: TrainingSequence, key: String, size: Int) throws {
        guard sequence.metadata.conditioningIndex == sequence.metadata.frameCount - 1 else {
            throw SequenceError.invalid("sample \(key)", "the conditioning view must be the last frame")
        }
        guard sequence.metadata.width == size, sequence.metadata.height == size else {
            throw SequenceError.invalid("sample \(key)", "is \(sequence.metadata.width)x\(sequence.metadata.height); the model takes \(size)x\(size) (build the shards with --size \(size))")
        }
    }
}
