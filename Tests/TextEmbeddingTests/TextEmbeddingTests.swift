import Testing
@testable import TextEmbedding
