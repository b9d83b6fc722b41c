import Foundation
import Testing
@testable import ModelFormats

/// A safetensors file assembled byte by byte from a header text and a data section, so malformed layouts can
/// be written that `SafetensorsWriter` never produces.
func rawSafetensors(header: String, data: [UInt8]) -> Data {
    var out = Data()
    var n = UInt64(header.utf8.count).littleEndian
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

/// Little-endian bytes of Float32 values.
func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in
        let b = v.bitPattern.littleEndian
        return [UInt8(b & 0xFF), UInt8((b >> 8) & 0xFF), UInt8((b >> 16) & 0xFF), UInt8(b >> 24)]
    }
}

/// Issue #22 item 2: the safetensors specification's checks (safetensors README, "Format"; `Metadata::validate`).
@Suite struct SafetensorsTests {
    func error(_ header: String, _ data: [UInt8]) -> String? {
        do { _ = try SafetensorsFile(data: rawSafetensors(header: header, data: data), path: "bad.safetensors"); return nil }
        catch { return error.localizedDescription }
    }

    @Test func readsAValidFileWithSeveralDtypesAndAnEmptyTensor() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""e":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},"i":{"dtype":"I16","shape":[2],"data_offsets":[8,12]},"#
            + #""u":{"dtype":"U8","shape":[2],"data_offsets":[12,14]}}"#
        let file = try SafetensorsFile(data: rawSafetensors(header: header, data: floatBytes([1.5, -2]) + [0xFE, 0xFF, 7, 0, 200, 3]),
                                       path: "ok.safetensors")
        #expect(try file.floats("a") == [1.5, -2])
        #expect(try file.floats("e", shape: [0, 3]).isEmpty)
        #expect(try file.integers("i") == [-2, 7])
        #expect(try file.integers("u") == [200, 3])
        #expect(file.metadata == ["format": "pt"])
        #expect(file.tensorNames.first == "a" && file.tensorNames.last == "u")
    }

    @Test func aliasedTensorsAreRefused() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let message = error(header, floatBytes([1, 2]))
        #expect(message?.contains("bad.safetensors") == true && message?.contains("overlap") == true, "\(message ?? "accepted")")
        #expect(message?.contains("'a'") == true && message?.contains("'b'") == true)
    }

    @Test func partlyOverlappingTensorsAreRefused() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        let message = error(header, floatBytes([1, 2, 3]))
        #expect(message?.contains("overlap") == true && message?.contains("4..<12") == true, "\(message ?? "accepted")")
    }

    @Test func anEmptyTensorInsideAnotherIsAnOverlap() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#
        #expect(error(header, floatBytes([1, 2]))?.contains("overlap") == true)
    }

    @Test func aGapBetweenTensorsIsRefused() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#
        let message = error(header, floatBytes([1, 2, 0, 3, 4]))
        #expect(message?.contains("bytes 8..<12") == true && message?.contains("'b'") == true, "\(message ?? "accepted")")
        let leading = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        #expect(error(leading, floatBytes([1, 2]))?.contains("bytes 0..<4") == true)
    }

    @Test func dataBeyondTheLastTensorIsRefused() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let message = error(header, floatBytes([1, 2, 3]))
        #expect(message?.contains("cover 8 bytes") == true && message?.contains("holds 12") == true, "\(message ?? "accepted")")
    }

    @Test func reversedOffsetsHaveTheirOwnMessage() {
        let header = #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#
        let message = error(header, floatBytes([1, 2]))
        #expect(message?.contains("[8, 0]") == true && message?.contains("end precedes the begin") == true, "\(message ?? "accepted")")
        #expect(message?.contains("past the end") == false)
    }

    @Test func offsetsPastTheEndAreStillNamed() {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        #expect(error(header, floatBytes([1, 2]))?.contains("points past the end") == true)
    }

    @Test func byteSizeMustMatchShapeTimesDtype() {
        let header = #"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#
        let message = error(header, floatBytes([1, 2]))
        #expect(message?.contains("8 bytes") == true && message?.contains("needs 4") == true, "\(message ?? "accepted")")
    }

    @Test func aShapeWhoseProductOverflowsIsRefused() {
        // 2^62 × 4 elements wraps to 0 in unchecked arithmetic, which would match offsets [0, 0].
        let header = #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}"#
        let message = error(header, [])
        #expect(message?.contains("overflow") == true, "\(message ?? "accepted")")
    }

    @Test func aDtypeOutsideTheSpecificationIsRefused() {
        let header = #"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#
        #expect(error(header, floatBytes([1, 2]))?.contains("unsupported type F33") == true)
    }

    @Test func floatDataLabelledAsIntegersIsNotReadAsWeights() throws {
        let header = #"{"w":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#
        let file = try SafetensorsFile(data: rawSafetensors(header: header, data: floatBytes([0.5, 0.25])), path: "mislabelled.safetensors")
        do {
            let values = try file.floats("w", shape: [2])
            Issue.record("read I32 data as weights: \(values)")
        } catch {
            #expect(error.localizedDescription.contains("mislabelled.safetensors") && error.localizedDescription.contains("'w'"))
            #expect(error.localizedDescription.contains("dtype I32"), "\(error.localizedDescription)")
        }
        // A caller that expects integers may still read them; floats are refused by integers().
        #expect(try file.floats("w", dtypes: [.i32]).count == 2)
        let f = try SafetensorsFile(data: rawSafetensors(header: header.replacingOccurrences(of: "I32", with: "F32"), data: floatBytes([0.5, 0.25])))
        #expect(throws: ModelFormatError.self) { try f.integers("w") }
    }

    @Test func theHeaderMustStartWithABrace() {
        let header = #"  {"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        #expect(error(header, floatBytes([1]))?.contains("start with '{'") == true)
    }

    @Test func metadataMustBeAnObject() {
        let header = #"{"__metadata__":[1,2],"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        #expect(error(header, floatBytes([1]))?.contains("__metadata__") == true)
    }

    @Test func headerLengthIsChecked() {
        var data = rawSafetensors(header: "{}", data: [])
        data.replaceSubrange(0..<8, with: [0, 0x10, 0, 0, 0, 0, 0, 0])   // 4096 bytes claimed, 2 present
        do { _ = try SafetensorsFile(data: data, path: "short.safetensors"); Issue.record("accepted") } catch {
            #expect(error.localizedDescription.contains("4096"))
        }
        data.replaceSubrange(0..<8, with: [0, 0, 0, 0, 0, 0, 0, 0x80])   // beyond the 100 MB limit
        do { _ = try SafetensorsFile(data: data, path: "huge.safetensors"); Issue.record("accepted") } catch {
            #expect(error.localizedDescription.contains("limit"))
        }
    }

    @Test func namesQuotedInErrorsAreEscapedAndCapped() {
        let name = String(repeating: "x", count: 500) + "\u{1B}[31m"
        let header = #"{"\#(name)":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        let message = error(header, floatBytes([1])) ?? ""
        #expect(message.count < 200 && !message.contains("\u{1B}"), "\(message)")
        #expect(ModelFormatError.quote("a\u{1B}b") == "'a\\u{1B}b'")
    }

    @Test func theWriterProducesFilesTheReaderAccepts() throws {
        let data = try SafetensorsWriter.encode([.init(name: "a", shape: [3], values: [1, 2, 3]), .init(name: "b", shape: [1, 2], values: [4, 5])],
                                                metadata: ["k": "v"])
        let file = try SafetensorsFile(data: data)
        #expect(try file.floats("b", shape: [1, 2]) == [4, 5])
    }
}
