// Neural-network layers over the tensor engine (filled in with the layers issue).
import Tensor
