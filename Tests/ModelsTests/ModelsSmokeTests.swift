import Models
import XCTest
