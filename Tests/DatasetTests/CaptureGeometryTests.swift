import Foundation
@testable import MultiViewData
import XCTest

final class CaptureGeometryTests: XCTestCase {
    func testLookAtPoseConventions() {
        let pose = RigidPose(lookingFrom: Vec3(0, -2, 0), at: .zero, up: Vec3(0, 0, 1))
        XCTAssertEqual(pose.centre.y, -2, accuracy: 1e-12)
        XCTAssertEqual(pose.forward.y, 1, accuracy: 1e-12)   // looks toward +Y
        XCTAssertEqual(pose.right.x, 1, accuracy: 1e-12)     // right is +X
        XCTAssertEqual(pose.down.z, -1, accuracy: 1e-12)     // image down is world −Z
        let q = pose.rotation.quaternion
        let back = Mat3(quaternion: q)
        for (a, b) in zip(back.array.flatMap { $0 }, pose.rotation.array.flatMap { $0 }) {
            XCTAssertEqual(a, b, accuracy: 1e-12)
        }
    }

    func testSimilarityKeepsCameraCentres() {
        let pose = RigidPose(lookingFrom: Vec3(1, 2, 3), at: .zero, up: Vec3(0, 0, 1))
        let q = Mat3.rotation(axis: Vec3(1, 1, 0), angle: 0.7)
        let moved = pose.inWorld(scale: 3, rotation: q, shift: Vec3(5, -1, 2))
        let expected = 3 * (q * pose.centre) + Vec3(5, -1, 2)
        XCTAssertEqual(length(moved.centre - expected), 0, accuracy: 1e-9)
    }

    func testNearestPointToAxesIsExactForConcurrentLines() throws {
        let target = Vec3(0.3, -0.2, 1.1)
        let poses = [Vec3(3, 0, 0), Vec3(0, 3, 1), Vec3(-2, -2, 2), Vec3(1, -3, 0.5)].map {
            RigidPose(lookingFrom: $0, at: target, up: Vec3(0, 0, 1))
        }
        let c = try CaptureGeometry.nearestPointToAxes(poses)
        XCTAssertEqual(length(c - target), 0, accuracy: 1e-9)
    }

    func testParallelAxesAreReported() {
        let poses = (0..<4).map { RigidPose(lookingFrom: Vec3(Double($0), 0, 0), at: Vec3(Double($0), 5, 0), up: Vec3(0, 0, 1)) }
        XCTAssertThrowsError(try CaptureGeometry.nearestPointToAxes(poses)) { error in
            XCTAssertEqual(error as? GeometryError, .degenerate("optical axes are parallel; no nearest point"))
        }
    }

    /// Errors of one estimator over many random captures: (mean, max) elevation and azimuth error.
    private func errors(up: CaptureGeometry.UpMethod, centre: CaptureGeometry.CentreMethod = .opticalAxes,
                        captures: Int = 100, aimJitter: Double = 0.005, roll: Double = 1) throws -> (elMean: Double, elMax: Double, azMax: Double) {
        var sum = 0.0, worst = 0.0, azWorst = 0.0, n = 0
        for seed in 0..<UInt64(captures) {
            let capture = SyntheticCapture.make(seed: seed, rollNoiseDegrees: roll, aimJitter: aimJitter)
            let g = try CaptureGeometry.estimate(poses: capture.poses, points: capture.points,
                                                 centre: centre, up: up)
            let centres = capture.poses.map(\.centre)
            let reference = centres.count - 1
            let az = g.azimuths(of: centres, reference: reference)
            let truthAz = capture.relativeAzimuths(reference: reference)
            for (i, c) in centres.enumerated() {
                let e = abs(g.elevation(of: c) - capture.elevations[i])
                sum += e; worst = max(worst, e); n += 1
                azWorst = max(azWorst, angleDifference(az[i], truthAz[i]))
            }
        }
        return (sum / Double(n), worst, azWorst)
    }

    func testCameraAxesEstimatorRecoversAnglesWithinOneDegree() throws {
        // 100 captures x 30 frames; roll noise 1 deg per frame, aim wandering 0.5% of the distance.
        let e = try errors(up: .cameraAxes)
        print("camera axes, roll 1 deg, aim 0.5%: elevation mean \(e.elMean) max \(e.elMax); azimuth max \(e.azMax) deg")
        XCTAssertLessThan(e.elMax, 1.0)
        XCTAssertLessThan(e.azMax, 1.0)
    }

    func testCameraAxesEstimatorUnderSloppierCaptures() throws {
        // The README's error table: errors grow with roll noise (up) and aim wander (centre).
        for (roll, aim) in [(1.0, 0.02), (2.0, 0.005), (2.0, 0.02)] {
            let e = try errors(up: .cameraAxes, aimJitter: aim, roll: roll)
            print("camera axes, roll \(roll) deg, aim \(aim * 100)%: elevation mean \(e.elMean) max \(e.elMax); azimuth max \(e.azMax) deg")
            XCTAssertLessThan(e.elMax, 2.0)
            XCTAssertLessThan(e.azMax, 3.0)
        }
    }

    func testTrajectoryPlaneEstimatorTiltsWhenElevationVaries() throws {
        // The up of a plane fitted through the camera centres: kept to show why it is not the default.
        let plane = try errors(up: .trajectoryPlane)
        let axes = try errors(up: .cameraAxes)
        print("elevation error (trajectory plane): mean \(plane.elMean) max \(plane.elMax) deg")
        XCTAssertGreaterThan(plane.elMax, 3 * axes.elMax)
    }

    func testSparsePointCentre() throws {
        let e = try errors(up: .cameraAxes, centre: .sparsePoints, captures: 30)
        print("elevation error (camera axes + sparse-point centre): mean \(e.elMean) max \(e.elMax) deg")
        XCTAssertLessThan(e.elMax, 2.0)
    }

    func testSidewaysFramesAreDetected() throws {
        // Frames stored rotated by 90° (camera x vertical): the estimator must still find up.
        var capture = SyntheticCapture.make(seed: 7)
        let quarter = Mat3(rows: Vec3(0, 1, 0), Vec3(-1, 0, 0), Vec3(0, 0, 1))
        capture.poses = capture.poses.map { p in
            let r = quarter * p.rotation
            return RigidPose(rotation: r, translation: quarter * p.translation)
        }
        let g = try CaptureGeometry.estimate(poses: capture.poses)
        for (i, p) in capture.poses.enumerated() {
            XCTAssertEqual(g.elevation(of: p.centre), capture.elevations[i], accuracy: 1.0)
        }
    }
}
