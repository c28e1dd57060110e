import NN
import XCTest
