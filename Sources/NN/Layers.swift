// Basic layers with PyTorch's parameter names and initialisations' shapes: Linear, Conv2d,
// GroupNorm, LayerNorm. Each is built from sizes only; weights come from `load` or an init.

import Foundation
import Tensor

/// torch.nn.Linear: weight [out, in], optional bias [out].
public final class Linear: Module {
    /// The weight as stored (Float32, or F16/BF16 for inference; see LayerWeight.swift).
    public var storedWeight: LayerWeight
    public var bias: Tensor?

    /// The Float32 weight (widened on each read when stored in half precision); setting it stores
    /// Float32.
    public var weight: Tensor {
        get { storedWeight.float }
        set { storedWeight = LayerWeight(newValue) }
    }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias hasBias: Bool = true) {
        storedWeight = LayerWeight(Tensor(zeros: [outFeatures, inFeatures]))
        bias = hasBias ? Tensor(zeros: [outFeatures]) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { Tensor.linear(x, weight: weight, bias: bias) }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(&storedWeight, "weight", body)
        if bias != nil { body("bias", &bias!) }
    }
}

/// torch.nn.Conv2d (groups 1): weight [out, in, k, k], bias [out].
public final class Conv2d: Module {
    /// The weight as stored (Float32, or F16/BF16 for inference; see LayerWeight.swift).
    public var storedWeight: LayerWeight
    public var bias: Tensor?

    /// The Float32 weight (widened on each read when stored in half precision); setting it stores
    /// Float32.
    public var weight: Tensor {
        get { storedWeight.float }
        set { storedWeight = LayerWeight(newValue) }
    }
    public let stride: Int
    public let padding: Padding2D

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1,
                padding: Int = 0, bias hasBias: Bool = true) {
        storedWeight = LayerWeight(Tensor(zeros: [outChannels, inChannels, kernelSize, kernelSize]))
        bias = hasBias ? Tensor(zeros: [outChannels]) : nil
        self.stride = stride
        self.padding = Padding2D(padding)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(&storedWeight, "weight", body)
        if bias != nil { body("bias", &bias!) }
    }
}

/// torch.nn.GroupNorm with affine weight and bias [C].
public final class GroupNorm: Module {
    public var weight: Tensor
    public var bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([channels])
        bias = Tensor(zeros: [channels])
        self.groups = groups
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps)
    }

    /// silu(self(x)) as one op (`Tensor.groupNormSiLU`): the same values, one pass fewer.
    public func callAsFunction(_ x: Tensor, thenSiLU: Bool) -> Tensor {
        thenSiLU ? x.groupNormSiLU(groups: groups, weight: weight, bias: bias, eps: eps) : self(x)
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        body("weight", &weight)
        body("bias", &bias)
    }
}

/// torch.nn.LayerNorm over the last axis with affine weight and bias [D].
public final class LayerNorm: Module {
    public var weight: Tensor
    public var bias: Tensor
    public let eps: Float

    public init(_ dim: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([dim])
        bias = Tensor(zeros: [dim])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        body("weight", &weight)
        body("bias", &bias)
    }
}
