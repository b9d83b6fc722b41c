/// The version of semprog, shown by `semprog --version` and in every report's run metadata.
public enum SemprogVersion {
    public static let current = "0.1.0"
}
