// Seeded fuzzing of the safetensors header parser: valid images mutated by byte and bit flips,
// truncations, length-field edits and JSON token edits. Every input must either open (and then
// every tensor's bytes must read, and every tensor of a float dtype as Float32, the others
// refusing by name) or throw SafeTensorsError; anything else, or a crash, fails.

import Foundation
@testable import Tensor
import SeededRandom
import XCTest


final class SafeTensorsFuzzTests: XCTestCase {
    static let tokens = ["{", "}", "[", "]", ",", ":", "\"", "-1", "0", "1.5", "1e99", "null", "true",
                         "\"F64\"", "\"BF16\"", "\"I64\"", "99999999999999999999", "\"dtype\"", "\"shape\"",
                         "\"data_offsets\"", "\"__metadata__\"", "[0,0]", "[]", "\\u0000", "\u{FFFF}", " "]

    func testMutatedHeadersParseOrThrowSafeTensorsError() throws {
        var seeds = [try Data(contentsOf: fixtureURL("st_mixed.safetensors")),
                     try Data(contentsOf: fixtureURL("st_reference.safetensors"))]
        seeds.append(try SafeTensors.encode([.init("a", Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])),
                                             .init("b", Tensor(shape: [3], scalars: [5, 6, 7]), dtype: .bfloat16),
                                             .init("c", Tensor(zeros: [0]), dtype: .float16)],
                                            metadata: ["k": "v"]))
        var rng = SplitMix64(seed: 0x5AFE_7E45)
        var opened = 0, rejected = 0
        var kinds = [String: Int]()
        for iteration in 0..<4000 {
            var bytes = [UInt8](seeds[Int(rng.next() % UInt64(seeds.count))])
            if rng.next() % 2 == 0 {
                bytes = try editHeader(bytes, &rng)
                if rng.next() % 4 == 0 { mutate(&bytes, &rng) }
            } else {
                for _ in 0...(rng.next() % 3) { mutate(&bytes, &rng) }
            }
            do {
                let file = try SafeTensorsFile(data: Data(bytes), name: "fuzz-\(iteration)")
                for key in file.keys {
                    let info = try file.info(key)
                    XCTAssertEqual(try file.bytes(key).count, info.byteCount)
                    guard info.dtype.convertsToFloat32 else {
                        XCTAssertThrowsError(try file.tensor(key)) { error in
                            XCTAssertEqual((error as? SafeTensorsError)?.kind, .unusableDType, "\(error)")
                        }
                        continue
                    }
                    let t = try file.tensor(key)
                    XCTAssertEqual(t.count, info.count)
                    XCTAssertEqual(try file.stored(key).float().shape, info.shape)
                    if t.count > 0 { _ = t.scalars.reduce(0, +) }  // touch every element
                }
                opened += 1
            } catch let error as SafeTensorsError {
                XCTAssertTrue(error.description.hasPrefix("fuzz-\(iteration)"), "\(error)")
                kinds["\(error.kind)", default: 0] += 1
                rejected += 1
            } catch {
                XCTFail("iteration \(iteration): unexpected error type \(error)")
            }
        }
        let summary = "opened \(opened), rejected \(rejected), kinds \(kinds.sorted { $0.key < $1.key })"
        // the mutations must reach both outcomes and most error kinds
        XCTAssertGreaterThan(opened, 100, summary)
        XCTAssertGreaterThan(rejected, 1000, summary)
        XCTAssertEqual(kinds.count, 8, "every header error kind is reached: \(summary)")
    }

    /// Re-serialises the header of a valid image with one field of one entry changed (offsets
    /// moved, shape or dtype edited, a field removed or retyped), the length field kept right.
    private func editHeader(_ image: [UInt8], _ rng: inout SplitMix64) throws -> [UInt8] {
        let n = Int(image[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(image[8..<(8 + n)])) as? [String: Any])
        let name = try XCTUnwrap(header.keys.sorted().randomElement(using: &rng))
        func pick<T>(_ options: [T]) -> T { options[Int(rng.next() % UInt64(options.count))] }
        if var entry = header[name] as? [String: Any] {
            let field = pick(["dtype", "shape", "data_offsets"])
            let delta = Int(rng.next() % 9) - 4
            switch (field, rng.next() % 6) {
            case (_, 0): entry[field] = nil
            case (_, 1): entry[field] = pick([NSNull(), "x", [1, 2, 3], ["a": 1], 1.5, true] as [Any])
            case ("dtype", _): entry[field] = pick(["F32", "F16", "BF16", "I64", "F64", "U8", "f32", ""])
            case ("shape", _):
                var shape = entry[field] as? [Int] ?? []
                if shape.isEmpty || rng.next() % 3 == 0 { shape.append(pick([0, 1, 2, -1, 1 << 40])) }
                else { shape[Int(rng.next() % UInt64(shape.count))] += delta }
                entry[field] = shape
            default:
                var offsets = entry[field] as? [Int] ?? [0, 0]
                switch rng.next() % 3 {
                case 0: offsets[0] += delta
                case 1: offsets[offsets.count - 1] += delta
                default: offsets = offsets.map { $0 + delta }
                }
                entry[field] = offsets
            }
            header[name] = entry
        } else {
            header[name] = pick([["k": 1], ["k": "v"], [] as [Any], "text"] as [Any])
        }
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + [UInt8](json) + image[(8 + n)...]
    }

    private func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64) {
        guard bytes.count > 8 else {
            bytes.append(UInt8(truncatingIfNeeded: rng.next()))
            return
        }
        let headerEnd = min(bytes.count, 8 + Int(min(bytes[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) },
                                                     UInt64(bytes.count))))
        func position() -> Int { 8 + Int(rng.next() % UInt64(max(1, headerEnd - 8))) }
        switch rng.next() % 9 {
        case 0:  // random byte anywhere
            bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
        case 1:  // bit flip in the header
            let i = min(position(), bytes.count - 1)
            bytes[i] ^= 1 << UInt8(rng.next() % 8)
        case 2:  // truncate
            bytes.removeSubrange(Int(rng.next() % UInt64(bytes.count))...)
        case 3:  // length field: small edit
            var n = bytes[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            n = n &+ UInt64(bitPattern: Int64(rng.next() % 17) - 8)
            withUnsafeBytes(of: n.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        case 4:  // length field: anything
            let n = rng.next() % 4 == 0 ? rng.next() : rng.next() % UInt64(bytes.count + 16)
            withUnsafeBytes(of: n.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
        case 5:  // digit edit inside the JSON (offsets and shapes)
            let digits = (8..<headerEnd).filter { (48...57).contains(bytes[$0]) }
            if let i = digits.randomElement(using: &rng) { bytes[i] = 48 + UInt8(rng.next() % 10) }
        case 6:  // insert a JSON token, keeping the length field consistent half of the time
            let token = Array(Self.tokens[Int(rng.next() % UInt64(Self.tokens.count))].utf8)
            let i = min(position(), bytes.count)
            bytes.insert(contentsOf: token, at: i)
            if rng.next() % 2 == 0 { adjustLength(&bytes, by: token.count) }
        case 7:  // delete a range inside the header
            let i = position(), n = 1 + Int(rng.next() % 12)
            let end = min(bytes.count, i + n)
            if i < end {
                bytes.removeSubrange(i..<end)
                if rng.next() % 2 == 0 { adjustLength(&bytes, by: -(end - i)) }
            }
        default:  // duplicate a range of the header in place
            let i = position(), n = 1 + Int(rng.next() % 40)
            let end = min(headerEnd, i + n)
            if i < end {
                bytes.insert(contentsOf: Array(bytes[i..<end]), at: i)
                if rng.next() % 2 == 0 { adjustLength(&bytes, by: end - i) }
            }
        }
    }

    private func adjustLength(_ bytes: inout [UInt8], by delta: Int) {
        guard bytes.count >= 8 else { return }
        let n = bytes[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } &+ UInt64(bitPattern: Int64(delta))
        withUnsafeBytes(of: n.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    }
}
