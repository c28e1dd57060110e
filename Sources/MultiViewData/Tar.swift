// POSIX ustar archives, the container of WebDataset shards: 512-byte headers
// with an octal checksum, member data padded to 512 bytes, two zero blocks at the end. Members are
// written read-only (0444), owned by 0/0 with mtime 0, so the same samples give the same bytes.

import Foundation

public enum TarError: Error, CustomStringConvertible, Equatable {
    case truncated(path: String, offset: Int, what: String)
    case badHeader(path: String, offset: Int, reason: String)
    case nameTooLong(String)

    public var description: String {
        switch self {
        case .truncated(let path, let offset, let what): return "\(path): truncated at byte \(offset) in \(what)"
        case .badHeader(let path, let offset, let reason): return "\(path): bad tar header at byte \(offset): \(reason)"
        case .nameTooLong(let name): return "tar member name longer than 100 bytes: \(name)"
        }
    }
}

public struct TarMember: Equatable, Sendable {
    public var name: String
    public var data: Data
    public init(name: String, data: Data) { self.name = name; self.data = data }
}

public enum Tar {
    static let block = 512

    /// The 512-byte ustar header of a regular file.
    public static func header(name: String, size: Int, mode: Int = 0o444, mtime: Int = 0) throws -> [UInt8] {
        let nameBytes = Array(name.utf8)
        guard nameBytes.count <= 100 else { throw TarError.nameTooLong(name) }
        var h = [UInt8](repeating: 0, count: block)
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { h[offset + i] = b } }
        func octal(_ value: Int, width: Int) -> [UInt8] {   // width−1 digits and a NUL
            let s = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - s.count)) + s).utf8) + [0]
        }
        put(nameBytes, at: 0)
        put(octal(mode, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(octal(size, width: 12), at: 124)
        put(octal(mtime, width: 12), at: 136)
        put(Array(repeating: 0x20, count: 8), at: 148)   // checksum counts as spaces
        h[156] = UInt8(ascii: "0")
        put(Array("ustar\0".utf8), at: 257)
        put(Array("00".utf8), at: 263)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [0x20], at: 148)      // six digits, NUL, space
        return h
    }

    /// The bytes of one member: header, data, zero padding to a block boundary.
    public static func memberBytes(_ member: TarMember) throws -> Data {
        var out = Data(try header(name: member.name, size: member.data.count))
        out.append(member.data)
        let pad = (block - member.data.count % block) % block
        out.append(Data(count: pad))
        return out
    }

    /// End of archive: two zero blocks.
    public static var trailer: Data { Data(count: 2 * block) }

    /// Reads every regular-file member (GNU long names and pax headers understood; other types
    /// skipped). Errors name the file and the byte offset of the header at fault.
    public static func read(_ data: Data, path: String) throws -> [TarMember] {
        var members: [TarMember] = []
        try forEachMember(data, path: path) { members.append($0) }
        return members
    }

    public static func forEachMember(_ data: Data, path: String, _ body: (TarMember) throws -> Void) throws {
        let bytes = [UInt8](data)
        var offset = 0
        var longName: String?
        while true {
            guard offset + block <= bytes.count else {
                throw TarError.truncated(path: path, offset: bytes.count, what: "the header at byte \(offset) (no end-of-archive blocks)")
            }
            let h = bytes[offset..<offset + block]
            if h.allSatisfy({ $0 == 0 }) { return }   // end of archive
            func field(_ start: Int, _ length: Int) -> ArraySlice<UInt8> { bytes[(offset + start)..<(offset + start + length)] }
            func octal(_ start: Int, _ length: Int, _ what: String) throws -> Int {
                let text = String(decoding: field(start, length).prefix { $0 != 0 && $0 != 0x20 }, as: UTF8.self)
                    .trimmingCharacters(in: .whitespaces)
                guard let v = Int(text.isEmpty ? "0" : text, radix: 8) else {
                    throw TarError.badHeader(path: path, offset: offset, reason: "\(what) '\(text)' is not octal")
                }
                return v
            }
            let stored = try octal(148, 8, "checksum")
            var sum = 0
            for i in 0..<block { sum += (148..<156).contains(i) ? 0x20 : Int(bytes[offset + i]) }
            guard sum == stored else {
                throw TarError.badHeader(path: path, offset: offset, reason: "checksum \(stored), computed \(sum)")
            }
            let size = try octal(124, 12, "size")
            let type = bytes[offset + 156]
            let dataStart = offset + block
            guard dataStart + size <= bytes.count else {
                throw TarError.truncated(path: path, offset: bytes.count, what: "member data of the header at byte \(offset)")
            }
            let content = Data(bytes[dataStart..<dataStart + size])
            var name = String(decoding: field(0, 100).prefix { $0 != 0 }, as: UTF8.self)
            let prefix = String(decoding: field(345, 155).prefix { $0 != 0 }, as: UTF8.self)
            if !prefix.isEmpty, field(257, 5).elementsEqual(Array("ustar".utf8)) { name = prefix + "/" + name }
            switch type {
            case UInt8(ascii: "0"), 0:
                try body(TarMember(name: longName ?? name, data: content))
                longName = nil
            case UInt8(ascii: "L"):   // GNU long name for the next member
                longName = String(decoding: content.prefix { $0 != 0 }, as: UTF8.self)
            case UInt8(ascii: "x"):   // pax extended header: "<length> path=<name>\n" records
                if let path = paxPath(content) { longName = path }
            default:
                break   // directories, links, pax headers: not sample data
            }
            offset = dataStart + size + (block - size % block) % block
        }
    }

    /// The `path` record of a pax extended header, if any.
    static func paxPath(_ content: Data) -> String? {
        let text = String(decoding: content, as: UTF8.self)
        for record in text.split(separator: "\n") {
            guard let space = record.firstIndex(of: " ") else { continue }
            let pair = record[record.index(after: space)...]
            if pair.hasPrefix("path=") { return String(pair.dropFirst(5)) }
        }
        return nil
    }
}
