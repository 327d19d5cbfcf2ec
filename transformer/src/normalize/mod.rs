//! Unit normalization: source values in their many shapes to the one shape
//! the canonical model uses. (Being written; see the submodules.)
