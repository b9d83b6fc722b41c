import Foundation
import ModelFormats

/// Adds `coefficient · vector` to the residual stream after block `layer` (TransformerLens
/// `blocks.{layer}.hook_resid_post`), at every position or only at prompt / generated positions.
public final class SteeringVectorHook: ResidualHook, @unchecked Sendable {
    public enum Positions: String, Codable, Sendable { case all, prompt, generated }

    public let layer: Int
    public let vector: [Float]
    public let coefficient: Float
    public let positions: Positions

    public init(layer: Int, vector: [Float], coefficient: Float, positions: Positions = .all) {
        self.layer = layer; self.vector = vector; self.coefficient = coefficient; self.positions = positions
    }

    public func apply(_ rows: ResidualRows) {
        precondition(vector.count == rows.dModel, "SteeringVectorHook: vector of \(vector.count) for d_model \(rows.dModel)")
        vector.withUnsafeBufferPointer { v in
            for i in 0..<rows.count {
                switch positions {
                case .all: break
                case .prompt: if !rows.isPrompt[i] { continue }
                case .generated: if rows.isPrompt[i] { continue }
                }
                let r = rows.values + i * rows.dModel
                for j in 0..<rows.dModel { r[j] += coefficient * v[j] }
            }
        }
    }

    /// Reads a steering vector: a JSON array of numbers, or a safetensors file holding exactly one tensor
    /// (any shape with `expectedLength` elements). Throws naming the file when it is unreadable, malformed,
    /// non-finite or of the wrong length.
    public static func loadVector(path: String, expectedLength: Int) throws -> [Float] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LanguageModelError.steeringVector(path: path, reason: "cannot read the file")
        }
        var values: [Float]
        let firstVisible = data.first { ![UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r")].contains($0) }
        if firstVisible == UInt8(ascii: "["), let decoded = try? JSONDecoder().decode([Float].self, from: data) {
            values = decoded
        } else if firstVisible == UInt8(ascii: "["), (try? SafetensorsFile(data: data, path: path)) == nil {
            throw LanguageModelError.steeringVector(path: path, reason: "not a JSON array of numbers")
        } else {
            let file: SafetensorsFile
            do { file = try SafetensorsFile(data: data, path: path) } catch {
                throw LanguageModelError.steeringVector(path: path, reason: "neither a JSON array nor a safetensors file (\(error.localizedDescription))")
            }
            guard file.tensors.count == 1, let name = file.tensors.keys.first else {
                throw LanguageModelError.steeringVector(path: path, reason: "safetensors file holds \(file.tensors.count) tensors, expected exactly one")
            }
            values = try file.floats(name, requireFinite: false)
        }
        guard values.allSatisfy(\.isFinite) else { throw LanguageModelError.steeringVector(path: path, reason: "contains NaN or infinity") }
        guard values.count == expectedLength else {
            throw LanguageModelError.vectorLength(source: path, found: values.count, expected: expectedLength)
        }
        return values
    }
}
