// SV3D's dynamic orbits (`DynamicOrbit.swift`): the draws are seeded per object, within their
// bounds, the smoothing is the Gaussian convolution it claims to be, the path is smooth and
// closed, and a render records the orbit it used; static orbits keep today's cameras exactly.

import Cameras
import Foundation
@testable import Render
import XCTest

final class DynamicOrbitTests: XCTestCase {
    func draw(_ id: String, views: Int = 84, seed: UInt64 = 0, mean: Double? = nil) -> DynamicOrbit {
        DynamicOrbit.draw(views: views, meanElevation: mean ?? Orbit.elevation(.range(-5, 30), seed: seed, objectID: id),
                          azimuthStart: 0, seed: seed, objectID: id)
    }

    func testSeededPerObjectAndReproducible() {
        XCTAssertEqual(draw("chair"), draw("chair"))
        XCTAssertNotEqual(draw("chair").terms, draw("table").terms)
        XCTAssertNotEqual(draw("chair", seed: 1).terms, draw("chair", seed: 2).terms)
        XCTAssertNotEqual(draw("chair").azimuthNoise, draw("table").azimuthNoise)
        // The elevation terms are drawn before the per-view noise: the same for any number of views.
        let a = draw("chair", views: 84), b = draw("chair", views: 21)
        XCTAssertEqual(a.terms.map(\.cycles), b.terms.map(\.cycles))
        XCTAssertEqual(a.terms.map(\.drawnAmplitude), b.terms.map(\.drawnAmplitude))
        XCTAssertEqual(a.terms.map(\.phase), b.terms.map(\.phase))
    }

    func testDrawsStayWithinTheirBounds() {
        var cycles = Set<Int>(), scaled = 0
        for i in 0..<500 {
            let orbit = draw("object-\(i)")
            XCTAssertEqual(orbit.terms.count, DynamicOrbit.termCount)
            XCTAssertEqual(orbit.meanElevation, Orbit.elevation(.range(-5, 30), seed: 0, objectID: "object-\(i)"))
            var unscaled = true
            for term in orbit.terms {
                cycles.insert(term.cycles)
                XCTAssertTrue(DynamicOrbit.cycleRange.contains(term.cycles))
                XCTAssertGreaterThanOrEqual(term.drawnAmplitude, 0.5)
                XCTAssertLessThan(term.drawnAmplitude, 10)
                XCTAssertTrue((0..<360).contains(term.phase))
                let smoothed = term.drawnAmplitude * DynamicOrbit.smoothingFactor(cycles: term.cycles)
                XCTAssertGreaterThanOrEqual(term.amplitude, 0)
                XCTAssertLessThanOrEqual(term.amplitude, smoothed)
                if term.amplitude != smoothed { unscaled = false }
            }
            if !unscaled { scaled += 1 }
            for k in 0..<orbit.views {
                XCTAssertGreaterThanOrEqual(orbit.elevation(view: k), -10 - 1e-9)
                XCTAssertLessThanOrEqual(orbit.elevation(view: k), 40 + 1e-9)
                XCTAssertLessThanOrEqual(abs(orbit.azimuthNoise[k]), orbit.azimuthNoiseBound)
            }
        }
        XCTAssertEqual(cycles, Set(1...5))
        XCTAssertGreaterThan(scaled, 0, "some orbits meet the band")
        XCTAssertLessThan(scaled, 125, "the band binds for a minority (about one in eight)")
        // A fixed elevation outside the band widens it rather than moving the mean.
        let high = draw("chair", mean: 60)
        XCTAssertEqual(high.limits.hi, 60)
        XCTAssertTrue((0..<84).allSatisfy { high.elevation(view: $0) <= 60 + 1e-9 })
    }

    /// The smoothing factor is what a circular Gaussian of sigma orbits does to a sinusoid of n
    /// whole cycles per orbit, checked by convolving on a fine grid.
    func testSmoothingIsGaussianConvolution() {
        let grid = 4096, sigma = DynamicOrbit.smoothingSigma
        for n in 1...5 {
            // (g * s)(0) with s(t) = cos(2 pi n t), g the wrapped Gaussian
            var sum = 0.0, weight = 0.0
            for i in 0..<grid {
                var t = Double(i) / Double(grid)
                if t > 0.5 { t -= 1 }
                let g = exp(-t * t / (2 * sigma * sigma))
                sum += g * cos(2 * .pi * Double(n) * t)
                weight += g
            }
            XCTAssertEqual(sum / weight, DynamicOrbit.smoothingFactor(cycles: n), accuracy: 1e-9)
        }
        XCTAssertEqual(DynamicOrbit.smoothingFactor(cycles: 1), 0.989, accuracy: 1e-3)
        XCTAssertEqual(DynamicOrbit.smoothingFactor(cycles: 5), 0.756, accuracy: 1e-3)
    }

    /// Frame to frame, the elevation moves at most sum A 2 pi n / N (also across the seam: the
    /// path closes) and the azimuth steps forward by 360 / N +- 2 b.
    func testPathIsSmoothClosedAndMovesForward() {
        for views in [21, 84] {
            let step = 360 / Double(views)
            for i in 0..<200 {
                let orbit = draw("object-\(i)", views: views)
                let bound = orbit.terms.reduce(0) { $0 + $1.amplitude * 2 * .pi * Double($1.cycles) / Double(views) }
                XCTAssertLessThanOrEqual(bound, 2 * 10 * DynamicOrbit.smoothingFactor(cycles: 5) * 2 * .pi * 5 / Double(views))
                for k in 0..<views {
                    let next = (k + 1) % views
                    XCTAssertLessThanOrEqual(abs(orbit.elevation(view: next) - orbit.elevation(view: k)), bound + 1e-9)
                    var da = orbit.azimuth(view: next) - orbit.azimuth(view: k)
                    if da < 0 { da += 360 }
                    XCTAssertGreaterThanOrEqual(da, step - 2 * orbit.azimuthNoiseBound - 1e-9)
                    XCTAssertLessThanOrEqual(da, step + 2 * orbit.azimuthNoiseBound + 1e-9)
                    XCTAssertGreaterThan(da, 0.2 * step - 1e-9)
                }
                if views == 84 { XCTAssertLessThan(bound, 5.7) }
            }
        }
        XCTAssertEqual(DynamicOrbit.azimuthNoiseBound(views: 21), 2)
        XCTAssertEqual(DynamicOrbit.azimuthNoiseBound(views: 84), 0.4 * 360 / 84)
    }

    /// Static orbits keep their cameras exactly: start + 360 k / N at one elevation, whatever the
    /// sample recorded; the `orbit` section says static and names the sample.
    func testStaticOrbitIsUnchangedAndRecordsItsSample() throws {
        var options = RenderOptions()
        options.views = 8
        options.size = 16
        options.samples = 1
        options.azimuthStart = -15
        options.sampleViews = 4
        options.distance = 2.5
        let folder = temporaryFolder("static-orbit")
        defer { try? FileManager.default.removeItem(at: folder) }
        try RenderJob(input: URL(fileURLWithPath: "/dev/null"), objectID: "cube", outputFolder: folder, options: options)
            .render(Scenes.cube())
        let cameras = try OrbitCameras.read(folder.appendingPathComponent(OrbitCameras.fileName))
        let elevation = Orbit.elevation(options.elevation, seed: 0, objectID: "cube")
        for (k, view) in cameras.views.enumerated() {
            var azimuth = (-15 + 360 * Double(k) / 8).truncatingRemainder(dividingBy: 360)
            if azimuth < 0 { azimuth += 360 }
            XCTAssertEqual(view.azimuthDeg, azimuth)
            XCTAssertEqual(view.elevationDeg, elevation)
        }
        XCTAssertEqual(cameras.orbit, OrbitCameras.OrbitPlan(kind: "static", seed: 0, sampleViews: 4, sampleStride: 2,
                                                             law: Orbit.staticLaw))
    }

    func testDynamicRenderRecordsItsDraws() throws {
        var options = RenderOptions()
        options.views = 84
        options.sampleViews = 21
        options.orbit = .dynamic
        options.size = 16
        options.samples = 1
        options.seed = 5
        let folder = temporaryFolder("dynamic-orbit")
        defer { try? FileManager.default.removeItem(at: folder) }
        try RenderJob(input: URL(fileURLWithPath: "/dev/null"), objectID: "cube", outputFolder: folder, options: options)
            .render(Scenes.cube())
        let cameras = try OrbitCameras.read(folder.appendingPathComponent(OrbitCameras.fileName))
        let mean = Orbit.elevation(options.elevation, seed: 5, objectID: "cube")
        let orbit = DynamicOrbit.draw(views: 84, meanElevation: mean, azimuthStart: 0, seed: 5, objectID: "cube")
        XCTAssertEqual(cameras.views.count, 84)
        XCTAssertEqual(cameras.views.map(\.elevationDeg), (0..<84).map(orbit.elevation))
        XCTAssertEqual(cameras.views.map(\.azimuthDeg), (0..<84).map(orbit.azimuth))
        let plan = try XCTUnwrap(cameras.orbit)
        XCTAssertEqual(plan.kind, "dynamic")
        XCTAssertEqual(plan.seed, 5)
        XCTAssertEqual(plan.sampleViews, 21)
        XCTAssertEqual(plan.sampleStride, 4)
        XCTAssertEqual(plan.meanElevationDeg, mean)
        XCTAssertEqual(cameras.elevationDeg, mean)
        XCTAssertEqual(plan.elevationLimitsDeg, [-10, 40])
        XCTAssertEqual(plan.azimuthNoiseDeg, orbit.azimuthNoiseBound)
        // The recorded terms give the views' elevations back.
        let terms = try XCTUnwrap(plan.elevationTerms)
        for (k, view) in cameras.views.enumerated() {
            let e = mean + terms.reduce(0) { $0 + $1.amplitudeDeg * sin(2 * .pi * Double($1.cycles * k) / 84 + $1.phaseDeg * .pi / 180) }
            XCTAssertEqual(view.elevationDeg, e, accuracy: 1e-9)
        }
    }
}
