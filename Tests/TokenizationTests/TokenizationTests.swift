import Testing
@testable import Tokenization
