import Foundation
import Testing
@testable import ModelFormats

/// NPZ archives written by numpy itself (Tests/Fixtures/npz/make_npz.py): deflated (`savez_compressed`) and
/// stored (`savez`) members, both byte orders, float16/32/64, Fortran order, an empty array.
@Suite struct NPZTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/npz")

    struct Expected: Decodable {
        struct Entry: Decodable { var shape: [Int]; var descr: String; var values: [Double] }
        var arrays: [String: Entry]
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: fixtures.appendingPathComponent("expected.json")))
    }

    @Test(arguments: ["compressed.npz", "stored.npz"])
    func readsWhatNumpyWrote(file: String) throws {
        let npz = try NPZFile(path: Self.fixtures.appendingPathComponent(file).path)
        let expected = try Self.expected()
        #expect(Set(npz.names) == Set(expected.arrays.keys))
        for (name, e) in expected.arrays {
            let values = try npz.floats(name, shape: e.shape)
            #expect(try npz.array(name).descr == e.descr)
            // numpy's values converted to Float32 are exact for f2/f4 data and correctly rounded for f8.
            #expect(values == e.values.map { Float($0) }, "\(file) \(name)")
        }
    }

    func damaged(_ change: (inout Data) -> Void) throws -> String {
        var data = try Data(contentsOf: Self.fixtures.appendingPathComponent("compressed.npz"))
        change(&data)
        do { let npz = try NPZFile(data: data, path: "damaged.npz"); _ = try npz.floats("w_enc"); return "accepted" }
        catch { return error.localizedDescription }
    }

    @Test func damagedDataFailsItsChecksum() throws {
        // Member data starts after the first local header (30 bytes + name + extra); flip a byte inside it.
        let message = try damaged { data in
            let nameLength = Int(data[26]) | Int(data[27]) << 8, extraLength = Int(data[28]) | Int(data[29]) << 8
            data[30 + nameLength + extraLength + 20] ^= 0x55
        }
        #expect(message.contains("damaged.npz") && message.contains("w_enc.npy"), "\(message)")
    }

    @Test func aTruncatedArchiveIsNamed() throws {
        let message = try damaged { data in data = data.prefix(data.count / 2) }
        #expect(message.contains("damaged.npz") && message.contains("ZIP"), "\(message)")
    }

    @Test func notAZipFile() throws {
        do { _ = try NPZFile(data: Data(repeating: 7, count: 100), path: "x.npz"); Issue.record("accepted") } catch {
            #expect(error.localizedDescription.contains("x.npz") && error.localizedDescription.contains("end-of-central-directory"))
        }
    }

    @Test func missingArrayAndWrongShapeAreNamed() throws {
        let npz = try NPZFile(path: Self.fixtures.appendingPathComponent("stored.npz").path)
        #expect(throws: ModelFormatError.missingTensor(path: npz.path, tensor: "threshold")) { try npz.floats("threshold") }
        #expect(throws: ModelFormatError.shapeMismatch(path: npz.path, tensor: "w_enc", expected: [4, 3], found: [3, 4])) {
            try npz.floats("w_enc", shape: [4, 3])
        }
    }

    @Test func npyHeaderParsing() throws {
        #expect(NPZFile.pythonTuple("(576, 96)") == [576, 96])
        #expect(NPZFile.pythonTuple("(96,)") == [96])
        #expect(NPZFile.pythonTuple("()") == [])
        #expect(NPZFile.pythonTuple("(3, -1)") == nil)
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        #expect(NPZFile.dictValue(header, key: "descr") == "'<f4'")
        #expect(NPZFile.dictValue(header, key: "shape") == "(2, 3)")
        #expect(NPZFile.dictValue(header, key: "fortran_order") == "False")
        #expect(NPZFile.fortranToC([1, 2, 3, 4, 5, 6], shape: [2, 3]) == [1, 3, 5, 2, 4, 6])
    }
}
