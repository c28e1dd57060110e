// Convolution kernels. 2-D convolution is im2col + GEMM (the BLAS ceiling does the arithmetic):
// per image in bands of output rows for large images, so the scratch stays bounded
// (`conv2dInBands`), and several small images to one GEMM (`conv2dGrouped`); the temporal (k,1,1)
// convolution over frames is k strided GEMMs per output frame, no copies. `conv2dDirect` is the
// readable twin the tests compare both paths against.

import Foundation

/// Zero padding on each side of a 2-D convolution input.
public struct Padding2D: Equatable, Sendable {
    public var top: Int, bottom: Int, left: Int, right: Int
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    public init(_ p: Int) { self.init(top: p, bottom: p, left: p, right: p) }
}

/// Geometry of one 2-D convolution (per image).
public struct Conv2DGeometry: Sendable {
    public let channels: Int, height: Int, width: Int
    public let kernelH: Int, kernelW: Int, stride: Int
    public let padding: Padding2D
    public init(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, stride: Int,
                padding: Padding2D) {
        self.channels = channels; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW; self.stride = stride; self.padding = padding
    }
    public var outH: Int { (height + padding.top + padding.bottom - kernelH) / stride + 1 }
    public var outW: Int { (width + padding.left + padding.right - kernelW) / stride + 1 }
    /// Rows of the im2col matrix: C·kh·kw.
    public var patch: Int { channels * kernelH * kernelW }
    public var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && stride == 1 && padding == Padding2D(0)
    }
}

/// col[C·kh·kw, rows·outW] from x[C, H, W] (zeros outside the image) for the output rows
/// `outRows` (default all: a band of rows makes a band of columns, see `conv2dInBands`).
/// `rowStride` is the distance between rows of `col` (default rows·outW; larger when several
/// images share `col`).
func im2col(_ col: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ g: Conv2DGeometry,
            rowStride: Int? = nil, outRows: Range<Int>? = nil) {
    let ow = g.outW
    let band = outRows ?? 0..<g.outH
    let columns = band.count * ow
    let ld = rowStride ?? columns
    Parallel.forEach(g.patch, costPerItem: columns, grain: 65_536) { rows in
        for row in rows {
            let kx = row % g.kernelW, ky = (row / g.kernelW) % g.kernelH, c = row / (g.kernelW * g.kernelH)
            let dst = col + row * ld
            let src = x + c * g.height * g.width
            for oy in band {
                let iy = oy * g.stride + ky - g.padding.top
                let d = dst + (oy - band.lowerBound) * ow
                if iy < 0 || iy >= g.height {
                    d.update(repeating: 0, count: ow)
                    continue
                }
                let srow = src + iy * g.width
                if g.stride == 1 {
                    // Contiguous run: zero the borders, copy the middle.
                    let shift = kx - g.padding.left
                    let lo = max(0, -shift), hi = min(ow, g.width - shift)
                    // Plain loops rather than memset/memcpy calls: the default model's rows are
                    // 8-16 floats, where a library call costs more than the copy.
                    for ox in 0..<min(max(lo, 0), ow) { d[ox] = 0 }
                    if hi > lo { for ox in lo..<hi { d[ox] = srow[ox + shift] } }
                    for ox in max(hi, 0)..<ow { d[ox] = 0 }
                } else {
                    for ox in 0..<ow {
                        let ix = ox * g.stride + kx - g.padding.left
                        d[ox] = (ix >= 0 && ix < g.width) ? srow[ix] : 0
                    }
                }
            }
        }
    }
}

/// out[N, O, outH, outW] = conv(x[N, C, H, W]) + bias for `images` images, one image at a time:
/// im2col + GEMM over bands of output rows, each band's im2col at most `scratchLimit` floats (but
/// never less than one output row); pointwise convolutions read the input directly, no scratch.
func conv2dInBands(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                   _ bias: UnsafePointer<Float>?, images n: Int, outChannels o: Int, _ g: Conv2DGeometry,
                   scratchLimit: Int) {
    let hw = g.outH * g.outW, inSize = g.channels * g.height * g.width
    let bandRows = g.isPointwise ? g.outH : max(1, min(g.outH, scratchLimit / max(1, g.patch * g.outW)))
    let col = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: g.patch * bandRows * g.outW)
    defer { col?.deallocate() }
    for i in 0..<n {
        let dst = out + i * o * hw
        if let bias {
            for c in 0..<o { (dst + c * hw).update(repeating: bias[c], count: hw) }
        }
        var y0 = 0
        while y0 < g.outH {
            let rows = min(bandRows, g.outH - y0), columns = rows * g.outW
            let b: UnsafePointer<Float>
            if let col {
                im2col(col, x + i * inSize, g, outRows: y0..<(y0 + rows))
                b = UnsafePointer(col)
            } else {
                b = x + i * inSize
            }
            // out[:, y0·outW ..< (y0 + rows)·outW] (+)= W[O, patch] · col[patch, columns]
            BLAS.sgemm(m: o, n: columns, k: g.patch, a: w, lda: g.patch, b: b, ldb: columns,
                       beta: bias == nil ? 0 : 1, c: dst + y0 * g.outW, ldc: hw)
            y0 += rows
        }
    }
}

/// out[N, O, outH, outW] = conv(x[N, C, H, W]) + bias for `images` small images, `group` at a time
/// side by side in one im2col matrix and one GEMM (its column count group·outH·outW instead of
/// outH·outW); the product is then scattered to the images with the bias added.
func conv2dGrouped(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                   _ bias: UnsafePointer<Float>?, images n: Int, outChannels o: Int, _ g: Conv2DGeometry,
                   group: Int) {
    let hw = g.outH * g.outW, inSize = g.channels * g.height * g.width
    let col = UnsafeMutablePointer<Float>.allocate(capacity: g.patch * hw * group)
    let product = UnsafeMutablePointer<Float>.allocate(capacity: o * hw * group)
    defer { col.deallocate(); product.deallocate() }
    var first = 0
    while first < n {
        let count = min(group, n - first)
        for j in 0..<count {
            im2col(col + j * hw, x + (first + j) * inSize, g, rowStride: count * hw)
        }
        BLAS.sgemm(m: o, n: count * hw, k: g.patch, a: w, lda: g.patch, b: col,
                   ldb: count * hw, c: product, ldc: count * hw)
        for j in 0..<count {
            let dst = out + (first + j) * o * hw
            for c in 0..<o {
                let src = product + c * count * hw + j * hw, d = dst + c * hw
                if let bias {
                    let bc = bias[c]
                    for i in 0..<hw { d[i] = src[i] + bc }
                } else {
                    d.update(from: src, count: hw)
                }
            }
        }
        first += count
    }
}

/// Gradients of `conv2dInBands`/`conv2dGrouped` given grad[N, O, outH, outW], one image at a time:
/// dw[O, C, kh, kw] = Σ grad · im2col(x)ᵀ and dx[N, C, H, W] = col2im(Wᵀ · grad) (each skipped when
/// nil; both must hold zeros on entry).
func conv2dBackward(dx: UnsafeMutablePointer<Float>?, dw: UnsafeMutablePointer<Float>?, _ grad: UnsafePointer<Float>,
                    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, images n: Int, outChannels o: Int,
                    _ g: Conv2DGeometry) {
    let hw = g.outH * g.outW, inSize = g.channels * g.height * g.width
    let col = UnsafeMutablePointer<Float>.allocate(capacity: g.patch * hw)
    defer { col.deallocate() }
    for i in 0..<n {
        let gi = grad + i * o * hw
        if let dw {
            // dW[O, patch] += g[O, hw] · colᵀ
            let b: UnsafePointer<Float>
            if g.isPointwise { b = x + i * inSize } else {
                im2col(col, x + i * inSize, g); b = UnsafePointer(col)
            }
            BLAS.sgemm(transB: true, m: o, n: g.patch, k: hw, a: gi, lda: hw, b: b, ldb: hw,
                       beta: 1, c: dw, ldc: g.patch)
        }
        if let dx {
            // dcol[patch, hw] = Wᵀ · g, then scattered back to the image.
            if g.isPointwise {
                BLAS.sgemm(transA: true, m: g.patch, n: hw, k: o, a: w, lda: g.patch,
                           b: gi, ldb: hw, c: dx + i * inSize, ldc: hw)
            } else {
                BLAS.sgemm(transA: true, m: g.patch, n: hw, k: o, a: w, lda: g.patch,
                           b: gi, ldb: hw, c: col, ldc: hw)
                col2imAdd(dx + i * inSize, col, g)
            }
        }
    }
}

/// dx[C, H, W] += col2im(dcol[C·kh·kw, outH·outW]): the adjoint of `im2col`.
func col2imAdd(_ dx: UnsafeMutablePointer<Float>, _ col: UnsafePointer<Float>, _ g: Conv2DGeometry) {
    let oh = g.outH, ow = g.outW, hw = oh * ow, kk = g.kernelH * g.kernelW
    // Parallel over channels: each channel's rows write only that channel of dx.
    Parallel.forEach(g.channels, costPerItem: kk * hw) { channels in
        for c in channels {
            let dst = dx + c * g.height * g.width
            for k in 0..<kk {
                let kx = k % g.kernelW, ky = k / g.kernelW
                let src = col + (c * kk + k) * hw
                for oy in 0..<oh {
                    let iy = oy * g.stride + ky - g.padding.top
                    if iy < 0 || iy >= g.height { continue }
                    let drow = dst + iy * g.width
                    let s = src + oy * ow
                    for ox in 0..<ow {
                        let ix = ox * g.stride + kx - g.padding.left
                        if ix >= 0 && ix < g.width { drow[ix] += s[ox] }
                    }
                }
            }
        }
    }
}

/// Reference 2-D convolution: out[O, outH, outW] = Σ w[O, C, kh, kw] · x[C, H, W] + bias.
public func conv2dDirect(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>,
                         _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                         outChannels: Int, _ g: Conv2DGeometry) {
    let oh = g.outH, ow = g.outW
    for o in 0..<outChannels {
        for oy in 0..<oh {
            for ox in 0..<ow {
                var acc = Double(bias?[o] ?? 0)
                for c in 0..<g.channels {
                    for ky in 0..<g.kernelH {
                        let iy = oy * g.stride + ky - g.padding.top
                        if iy < 0 || iy >= g.height { continue }
                        for kx in 0..<g.kernelW {
                            let ix = ox * g.stride + kx - g.padding.left
                            if ix < 0 || ix >= g.width { continue }
                            acc += Double(w[((o * g.channels + c) * g.kernelH + ky) * g.kernelW + kx])
                                * Double(x[(c * g.height + iy) * g.width + ix])
                        }
                    }
                }
                out[(o * oh + oy) * ow + ox] = Float(acc)
            }
        }
    }
}
