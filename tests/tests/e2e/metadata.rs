//! `insforge metadata` against the sandbox.
