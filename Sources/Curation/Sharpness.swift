// Sharpness of a frame: the variance of its Laplacian (Pech-Pacheco et al. 2000, "Diatom
// autofocusing in brightfield microscopy"; the `cv2.Laplacian(grey, cv2.CV_64F).var()` blur test).
// Motion blur and defocus remove the high frequencies the Laplacian responds to, so the variance
// drops. The value depends on the image size and content, so frames are measured at one analysis
// size and a capture is judged by a low percentile across its frames (its blurriest frames).

/// Variance (population) of the 4-neighbour Laplacian [0 1 0; 1 -4 1; 0 1 0] (OpenCV's
/// `Laplacian` with ksize 1) over the interior pixels, whose whole neighbourhood lies inside the
/// image; OpenCV also includes the border with reflected pixels. Grey values in 0...255. 0 for an
/// image without interior pixels (a side under 3).
public func laplacianVariance(_ image: GreyImage) -> Double {
    let w = image.width, h = image.height
    guard w >= 3, h >= 3 else { return 0 }
    var sum = 0.0, sumSquares = 0.0
    image.values.withUnsafeBufferPointer { v in
        for y in 1..<(h - 1) {
            for x in 1..<(w - 1) {
                let i = y * w + x
                let l = Double(v[i - 1] + v[i + 1] + v[i - w] + v[i + w] - 4 * v[i])
                sum += l; sumSquares += l * l
            }
        }
    }
    let n = Double((w - 2) * (h - 2))
    let m = sum / n
    return max(0, sumSquares / n - m * m)
}
