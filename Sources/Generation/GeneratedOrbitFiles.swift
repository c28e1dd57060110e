// The files of a generated orbit: `000.png`... (one per view, the input view last as in SV3D),
// `input.png` (the prepared conditioning image), `contact-sheet.png`, `orbit.png` (animated PNG)
// and `cameras.json` (`OrbitCameras`, the renderer's format, with how the views were sampled), so
// the dataset reader, the evaluator and mesh ground truth take generated orbits like rendered ones.

import Cameras
import Foundation
import Imaging

public enum GeneratedOrbitFiles {
    public static func viewFile(_ index: Int) -> String { String(format: "%03d.png", index) }

    /// The field of view written for generated views: the model fixes neither distance nor field of
    /// view, so the renderer's are used (SV3D's renders: 33.8°).
    public static let fovDegrees = 33.8

    /// The distance at which the unit-box normalisation's bounding sphere (radius √3/2) fills the
    /// field of view, as the renderer fits it.
    public static var distance: Double { 0.75.squareRoot() / sin(fovDegrees * .pi / 360) }

    /// The cameras of generated views: azimuths relative to the input view (SV3D's frame).
    public static func cameras(objectID: String, size: Int, elevationsDegrees: [Double], azimuthsDegrees: [Double],
                               generation: OrbitCameras.Generation) -> OrbitCameras {
        var cameras = OrbitCameras(
            objectID: objectID, width: size, height: size, fovDeg: fovDegrees,
            views: zip(elevationsDegrees, azimuthsDegrees).enumerated().map { i, angles in
                OrbitCameras.View(index: i, file: viewFile(i),
                                  pose: OrbitPose(elevationDegrees: angles.0, azimuthDegrees: angles.1, distance: distance))
            })
        cameras.generation = generation
        return cameras
    }

    /// The cameras of views sampled with `settings` from `checkpoint` (a path or a name), with the
    /// settings that reproduce them; `inputFraming` says how the input image was prepared.
    public static func cameras(objectID: String, size: Int, settings: StableVideoSamplingSettings, checkpoint: String,
                               variant: StableVideoModelConfig.Variant, inputFraming: String) -> OrbitCameras {
        let generation = OrbitCameras.Generation(
            checkpoint: checkpoint, variant: variant.rawValue, frames: settings.frames, steps: settings.steps,
            seed: settings.seed, sampler: settings.method.rawValue, sigmaMax: settings.sigmaMax, churn: settings.churn,
            condAug: settings.conditioningAugmentation, startsFromInput: settings.startsFromInput,
            guider: String(describing: settings.guider), inputView: settings.frames - 1, inputFraming: inputFraming)
        return cameras(objectID: objectID, size: size, elevationsDegrees: settings.frameElevationsDegrees,
                       azimuthsDegrees: settings.frameAzimuthsDegrees, generation: generation)
    }

    /// Writes every file of the orbit into `folder` (each atomically).
    public static func write(views: [Image8], prepared: Image8, cameras: OrbitCameras, to folder: URL) throws {
        for (i, image) in views.enumerated() {
            try PNG.write(image, to: folder.appendingPathComponent(viewFile(i)))
        }
        try PNG.write(prepared, to: folder.appendingPathComponent("input.png"))
        let columns = min(7, views.count)
        let rows = stride(from: 0, to: views.count, by: columns).map { Array(views[$0..<min(views.count, $0 + columns)]) }
        let cell = min(192, prepared.width)
        try PNG.write(ContactSheet.make(rows: rows, cellWidth: cell, cellHeight: cell),
                      to: folder.appendingPathComponent("contact-sheet.png"))
        try APNG.write(views, delay: 0.1, to: folder.appendingPathComponent("orbit.png"))
        try cameras.write(to: folder.appendingPathComponent(OrbitCameras.fileName))
    }
}
