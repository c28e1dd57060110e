// Writes a capture in MVImgNet's layout (MVImgNet.swift): the frames as JPEGs `images/001.jpg`...
// and a COLMAP binary model in `sparse/0`. The tests and `svdmv bench curate` build their
// synthetic captures with it; what the frames show and where the cameras are is theirs to choose.

import Foundation
import Imaging

extension MVImgNetCapture {
    /// One frame to write: its picture and, when COLMAP registered it, its pose (cam_from_world)
    /// and the 2D points its model records.
    public struct SyntheticFrame {
        public var image: Image8
        public var pose: RigidPose?
        public var points2D: [COLMAPPoint2D]

        public init(image: Image8, pose: RigidPose?, points2D: [COLMAPPoint2D] = []) {
            self.image = image; self.pose = pose; self.points2D = points2D
        }
    }

    /// Writes the capture `root/name` (`name` is `<category>/<object>`) with `frameCount` frames,
    /// frame k from `frame(k)` (one at a time, so large frames need not all be in memory) saved as
    /// `images/<k + 1, three digits>.jpg` at JPEG `quality`. The COLMAP model has `camera`, one
    /// image (id k + 1) per registered frame in frame order, and `points`.
    @discardableResult
    public static func write(root: URL, name: String, frameCount: Int, quality: Int = 95, camera: COLMAPCamera,
                             points: [COLMAPPoint3D], frame: (Int) throws -> SyntheticFrame) throws -> MVImgNetCapture {
        let capture = MVImgNetCapture(directory: root.appendingPathComponent(name))
        try FileManager.default.createDirectory(at: capture.imagesDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: capture.sparseDirectory, withIntermediateDirectories: true)
        var images: [COLMAPImage] = []
        for k in 0..<frameCount {
            let fileName = String(format: "%03d.jpg", k + 1)
            let made = try frame(k)
            try JPEG.write(made.image, to: capture.imagesDirectory.appendingPathComponent(fileName), quality: quality)
            guard let pose = made.pose else { continue }
            images.append(COLMAPImage(id: UInt32(k + 1), qvec: pose.rotation.quaternion, tvec: pose.translation,
                                      cameraID: camera.id, name: fileName, points2D: made.points2D))
        }
        try COLMAPModel(cameras: [camera], images: images, points3D: points).writeBinary(directory: capture.sparseDirectory)
        return capture
    }
}
