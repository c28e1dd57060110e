import Tensor
import TestSupport
import XCTest

final class ElementwiseTests: XCTestCase {
    func testBroadcastAddMatchesLoop() {
        let a = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let b = Tensor(shape: [3, 1], scalars: [10, 20, 30])
        let c = a + b
        var expected = [Float]()
        for i in 0..<2 { for j in 0..<3 { for k in 0..<4 { expected.append(Float(i * 12 + j * 4 + k) + Float(10 * (j + 1))) } } }
        assertClose(c.scalars, expected, rtol: 0, atol: 0, "broadcast add")
    }

    func testRowsPicksFirstAxisRowsInOrderWithRepeats() {
        let a = Tensor(shape: [3, 2], scalars: [0, 1, 10, 11, 20, 21])
        let picked = a.rows([2, 0, 2])
        XCTAssertEqual(picked.shape, [3, 2])
        XCTAssertEqual(picked.scalars, [20, 21, 0, 1, 20, 21])
    }
}
