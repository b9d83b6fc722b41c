import Testing
@testable import Study

/// `semprog stats`' table: Store's RFC 4180 reader plus numeric columns with errors naming file, row and column.
@Suite struct NumericTableTests {
    @Test func quotedHeaderAndCRLF() throws {
        let table = try NumericTable(text: "id,\"sparsity, log10\",robustness\r\nf0,-2.5,3\r\nf1,-1,4.5\r\n", path: "t.csv")
        #expect(table.header == ["id", "sparsity, log10", "robustness"])
        #expect(try table.numericColumn("sparsity, log10") == [-2.5, -1])
        #expect(try table.numericColumn("robustness") == [3, 4.5])
    }

    @Test func errorsNameFileRowAndColumn() throws {
        let table = try NumericTable(text: "a,b\n1,2\n2,oops\n3\n", path: "bad.csv")
        #expect(throws: StudyError.self) { try table.numericColumn("b") }
        do { _ = try table.numericColumn("b"); Issue.record("no error") } catch {
            #expect(error.localizedDescription.contains("bad.csv row 3, column 'b'"))
            #expect(error.localizedDescription.contains("oops"))
        }
        do { _ = try NumericTable(text: "a,b\n1,2\n3\n", path: "short.csv").numericColumn("b"); Issue.record("no error") } catch {
            #expect(error.localizedDescription.contains("short.csv row 3"))
        }
        do { _ = try table.numericColumn("c"); Issue.record("no error") } catch {
            #expect(error.localizedDescription.contains("no column 'c'"))
        }
        do { _ = try NumericTable(text: "a,b\n\"1,2\n", path: "open.csv"); Issue.record("no error") } catch {
            #expect(error.localizedDescription.contains("open.csv row 2"))
        }
        do { _ = try NumericTable(text: "", path: "empty.csv"); Issue.record("no error") } catch {
            #expect(error.localizedDescription.contains("empty.csv: the file is empty"))
        }
    }
}
