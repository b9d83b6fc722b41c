// SplitMix64 lives in Randomness (shared with Analysis and Report, which do not depend on Tensor); modules that
// import Tensor see it as before.
@_exported import Randomness
