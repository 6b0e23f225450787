//! The sifr formula language.
