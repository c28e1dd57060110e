// The SVD-MV / SV3D networks (VideoUNet, VAE, OpenCLIP image encoder, conditioner), each built
// from a config value and loaded strictly by sgm checkpoint keys. See ARCHITECTURE.md.

import NN
import Tensor
