extension LlamaModel {
    /// The most tokens (prompt + generated) one sequence can hold: the model's context length, capped at the
    /// length of the RoPE table this build precomputes (32,768). `generate` refuses longer sequences; callers
    /// check it before writing anything.
    public var contextLimit: Int { ropeTableLength }
}
