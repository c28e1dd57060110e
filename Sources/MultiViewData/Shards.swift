// WebDataset-style training shards (webdataset's tar conventions). One sample = consecutive tar
// members sharing a key: `<key>.json` (SequenceMetadata: cameras, angles, ids) and the frames
// `<key>.000.png` … `<key>.020.png` (or `.jpg`), fields in sorted order. Keys contain no dots
// (webdataset splits the basename at its first dot). Shards are `<prefix>-NNNNNN.tar`, each
// written to a temporary name and renamed when complete.

import FileSupport
import Foundation
import SeededRandom
import Imaging

public enum FrameFormat: String, CaseIterable, Sendable {
    case png, jpg
}

/// A key webdataset accepts: letters, digits, '-' and '_' only (everything else becomes '_').
public func shardKey(_ text: String) -> String {
    String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" })
}

/// Encodes one sample as tar members in webdataset's sorted field order.
public func shardMembers(_ sequence: TrainingSequence, key: String, format: FrameFormat = .png,
                         jpegQuality: Int = 95) throws -> [TarMember] {
    precondition(!key.contains("."), "webdataset keys contain no dots")
    let images = sequence.images()
    var encoded = [Data?](repeating: nil, count: images.count)
    var failure: Error?
    let lock = NSLock()
    DispatchQueue.concurrentPerform(iterations: images.count) { i in
        do {
            let data = format == .png ? try PNG.encode(images[i]) : try JPEG.encode(images[i], quality: jpegQuality)
            lock.lock(); encoded[i] = data; lock.unlock()
        } catch {
            lock.lock(); failure = error; lock.unlock()
        }
    }
    if let failure { throw failure }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var members = encoded.enumerated().map {
        TarMember(name: "\(key).\(String(format: "%03d", $0.offset)).\(format.rawValue)", data: $0.element!)
    }
    members.append(TarMember(name: "\(key).json", data: try encoder.encode(sequence.metadata)))
    return members.sorted { $0.name < $1.name }
}

/// Decodes one sample's fields (field name → bytes, e.g. "json", "003.png").
public func decodeSample(fields: [String: Data], key: String, source: String) throws -> TrainingSequence {
    let context = "\(source) sample \(key)"
    guard let json = fields["json"] else { throw SequenceError.invalid(context, "no .json member") }
    let metadata: SequenceMetadata
    do {
        metadata = try JSONDecoder().decode(SequenceMetadata.self, from: json)
    } catch {
        throw SequenceError.invalid(context, "bad .json: \(error)")
    }
    try metadata.validate(context)
    var images = [Image8?](repeating: nil, count: metadata.frameCount)
    var failure: Error?
    let lock = NSLock()
    DispatchQueue.concurrentPerform(iterations: metadata.frameCount) { i in
        let stem = String(format: "%03d", i)
        do {
            var image: Image8
            if let png = fields["\(stem).png"] {
                image = try PNG.decode(png, path: "\(context).\(stem).png").rgb()
            } else if let jpg = fields["\(stem).jpg"] {
                image = try JPEG.decode(jpg, path: "\(context).\(stem).jpg")
            } else {
                throw SequenceError.invalid(context, "frame \(stem) missing")
            }
            guard image.width == metadata.width, image.height == metadata.height, image.channels == 3 else {
                throw SequenceError.invalid(context, "frame \(stem) is \(image.width)x\(image.height)x\(image.channels)")
            }
            lock.lock(); images[i] = image; lock.unlock()
        } catch {
            lock.lock(); failure = error; lock.unlock()
        }
    }
    if let failure { throw failure }
    return TrainingSequence(metadata: metadata, images: images.map { $0! })
}

/// Writes samples into numbered shards, starting a new shard after `maxSamples` samples or
/// `maxBytes` bytes.
public final class ShardWriter {
    public let directory: URL
    public let prefix: String
    public var maxSamples: Int
    public var maxBytes: Int
    public var format: FrameFormat
    public private(set) var finished: [URL] = []

    private var handle: FileHandle?
    private var temporary: URL?
    private var samplesInShard = 0
    private var bytesInShard = 0
    private var keys = Set<String>()

    public init(directory: URL, prefix: String = "shard", maxSamples: Int = 1000, maxBytes: Int = 3_000_000_000,
                format: FrameFormat = .png) {
        self.directory = directory; self.prefix = prefix; self.maxSamples = maxSamples
        self.maxBytes = maxBytes; self.format = format
    }

    deinit {
        // An unfinished shard is never renamed into place.
        try? handle?.close()
        if let temporary { try? FileManager.default.removeItem(at: temporary) }
    }

    var currentURL: URL { directory.appendingPathComponent(String(format: "%@-%06d.tar", prefix, finished.count)) }

    public func write(_ sequence: TrainingSequence, key: String) throws {
        guard !keys.contains(key) else { throw SequenceError.invalid(key, "duplicate sample key") }
        let members = try shardMembers(sequence, key: key, format: format)
        var bytes = Data()
        for m in members { bytes.append(try Tar.memberBytes(m)) }
        if handle != nil && (samplesInShard >= maxSamples || bytesInShard + bytes.count > maxBytes) {
            try closeShard()
        }
        if handle == nil { try openShard() }
        try handle!.write(contentsOf: bytes)
        keys.insert(key)
        samplesInShard += 1
        bytesInShard += bytes.count
    }

    /// Closes the open shard; returns every shard written.
    @discardableResult
    public func finish() throws -> [URL] {
        if handle != nil { try closeShard() }
        return finished
    }

    private func openShard() throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = currentURL
        let tmp = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else {
            throw SequenceError.invalid(url.path, "cannot create \(tmp.path)")
        }
        handle = try FileHandle(forWritingTo: tmp)
        temporary = tmp
        samplesInShard = 0
        bytesInShard = 0
    }

    private func closeShard() throws {
        guard let handle, let temporary else { return }
        try handle.write(contentsOf: Tar.trailer)
        try handle.close()
        self.handle = nil
        let url = currentURL
        if rename(temporary.path, url.path) != 0 {
            throw SequenceError.invalid(url.path, "cannot rename into place: \(String(cString: strerror(errno)))")
        }
        self.temporary = nil
        finished.append(url)
    }
}

/// Groups a shard's members into samples by key (the part of the basename before its first dot).
public func shardSamples(_ members: [TarMember]) -> [(key: String, fields: [String: Data])] {
    var out: [(key: String, fields: [String: Data])] = []
    for m in members {
        let slash = m.name.lastIndex(of: "/").map { m.name.index(after: $0) } ?? m.name.startIndex
        let base = m.name[slash...]
        guard let dot = base.firstIndex(of: ".") else { continue }
        let key = String(m.name[..<dot]), field = String(base[base.index(after: dot)...])
        if out.last?.key == key {
            out[out.count - 1].fields[field] = m.data
        } else {
            out.append((key, [field: m.data]))
        }
    }
    return out
}

public struct ShardReaderOptions: Sendable {
    /// Samples held for shuffling; 0 or 1 keeps shard order.
    public var shuffleBuffer = 0
    public var seed: UInt64 = 0
    /// Also visit the shards in a seeded random order.
    public var shuffleShards = false
    /// Decoded samples the background thread may run ahead.
    public var prefetch = 2
    public init(shuffleBuffer: Int = 0, seed: UInt64 = 0, shuffleShards: Bool = false, prefetch: Int = 2) {
        self.shuffleBuffer = shuffleBuffer; self.seed = seed; self.shuffleShards = shuffleShards; self.prefetch = prefetch
    }
}


/// Bounded hand-over between the prefetch thread and the reader. The thread owns only this (not the
/// reader), so dropping a reader cancels the thread instead of keeping it alive.
final class PrefetchQueue: @unchecked Sendable {
    typealias Item = Result<(key: String, sequence: TrainingSequence), Error>
    private let condition = NSCondition()
    private var items: [Item] = []
    private var done = false
    private var cancelled = false
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Blocks while full; false once cancelled.
    func push(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        guard !cancelled else { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    func finish() {
        condition.lock(); done = true; condition.broadcast(); condition.unlock()
    }

    func cancel() {
        condition.lock(); cancelled = true; condition.broadcast(); condition.unlock()
    }

    /// Blocks until an item arrives; nil after the producer finished and everything was taken.
    func pop() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !done { condition.wait() }
        guard !items.isEmpty else { return nil }
        let item = items.removeFirst()
        condition.broadcast()
        return item
    }
}

/// Reads shards as training sequences: a background thread reads and decodes samples (in shard
/// order, `prefetch` ahead); the caller's side draws from a seeded shuffle buffer, so the order
/// depends only on the shards, the options and the seed, never on thread timing.
public final class ShardReader {
    public let urls: [URL]
    public let options: ShardReaderOptions

    private let queue: PrefetchQueue
    private var buffer: [(key: String, sequence: TrainingSequence)] = []
    private var rng: SplitMix64
    private var started = false
    private var drained = false

    public init(urls: [URL], options: ShardReaderOptions = ShardReaderOptions()) {
        self.options = options
        rng = SplitMix64(seed: options.seed)
        var order = urls
        if options.shuffleShards { order.shuffle(using: &rng) }
        self.urls = order
        queue = PrefetchQueue(capacity: options.prefetch)
    }

    deinit { queue.cancel() }

    /// Every `*.tar` in `directory`, sorted.
    public static func shards(in directory: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            .filter { $0.hasSuffix(".tar") && !$0.hasPrefix(".") }
            .map { directory.appendingPathComponent($0) }
    }

    private func start() {
        started = true
        let urls = self.urls, queue = self.queue
        let thread = Thread {
            outer: for url in urls {
                do {
                    guard let data = FileManager.default.contents(atPath: url.path) else {
                        throw SequenceError.invalid(url.path, "cannot read shard")
                    }
                    for sample in shardSamples(try Tar.read(data, path: url.path)) {
                        let sequence = try decodeSample(fields: sample.fields, key: sample.key, source: url.path)
                        if !queue.push(.success((sample.key, sequence))) { break outer }
                    }
                } catch {
                    _ = queue.push(.failure(error))
                    break
                }
            }
            queue.finish()
        }
        thread.start()
    }

    /// The next sample with its key, or nil after the last. Throws the first read or decode error
    /// (naming the shard, key and byte offset), after which the reader is finished.
    public func next() throws -> (key: String, sequence: TrainingSequence)? {
        if !started { start() }
        let size = max(1, options.shuffleBuffer)
        while !drained && buffer.count < size {
            guard let item = queue.pop() else { drained = true; break }
            do {
                buffer.append(try item.get())
            } catch {
                drained = true
                buffer.removeAll()
                throw error
            }
        }
        guard !buffer.isEmpty else { return nil }
        let index = size > 1 ? Int.random(in: 0..<buffer.count, using: &rng) : 0
        buffer.swapAt(index, buffer.count - 1)
        return buffer.removeLast()
    }
}
