//! The marketplace rules: state, money, lifecycle, proofs, rate limits, clock. No HTTP here.
