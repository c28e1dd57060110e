// The live-tensor byte count that memory benchmarks report: owned storage counts while it lives,
// borrowed storage (mapped files) never does, and the peak remembers the worst point.

import Foundation
import Tensor
import XCTest

final class TensorMemoryTests: XCTestCase {
    func testOwnedStorageCountsWhileItLivesAndThePeakRemembersIt() {
        let before = TensorMemory.live
        TensorMemory.resetPeak()
        XCTAssertEqual(TensorMemory.peak, before)
        do {
            let a = Tensor(zeros: [1000])
            let b = Tensor(uninitialized: [250])
            XCTAssertEqual(TensorMemory.live, before + 5000)
            withExtendedLifetime((a, b)) {}
        }
        XCTAssertEqual(TensorMemory.live, before, "freed storage is uncounted")
        XCTAssertEqual(TensorMemory.peak, before + 5000)
    }

    func testBorrowedStorageIsNotCounted() {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        let before = TensorMemory.live
        let view = Tensor(storage: TensorStorage(borrowing: buffer, count: 64, owner: NSObject()), shape: [64])
        XCTAssertEqual(TensorMemory.live, before)
        withExtendedLifetime(view) {}
        XCTAssertEqual(TensorMemory.live, before)
    }
}
