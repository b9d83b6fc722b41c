import Testing
import Foundation
@testable import ModelFormats

@Suite struct SHA256Tests {
    /// FIPS 180-4 / NIST example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownVectors(input: String, expected: String) {
        #expect(SHA256Digest.hex(of: Data(input.utf8)) == expected)
    }

    @Test func chunkedEqualsWhole() {
        var rng = SystemRandomNumberGenerator()
        let bytes = Data((0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) })
        var d = SHA256Digest()
        var o = 0
        for size in [1, 63, 64, 65, 200, 607] { d.update(bytes[o..<(o + size)]); o += size }
        #expect(d.finalizeHex() == SHA256Digest.hex(of: bytes))
    }
}
