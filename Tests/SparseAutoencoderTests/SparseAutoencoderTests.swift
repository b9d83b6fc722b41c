import Testing
@testable import SparseAutoencoder
