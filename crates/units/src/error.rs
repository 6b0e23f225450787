use rust_decimal::Decimal;

/// Why a unit could not be resolved or a value not converted.
///
/// The first two messages are SIF's, word for word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// Neither a symbol within the quantity kind nor a label names a unit.
    #[error("Unit '{text}' ('{quantity_kind}' quantity kind) not recognized.")]
    NotRecognized {
        text: String,
        /// The quantity kind as given, `?` when none was.
        quantity_kind: String,
    },
    /// The units measure different things (their QUDT dimension vectors differ).
    #[error("Cannot convert from {from} to {to}: dimension vectors differ")]
    DimensionsDiffer {
        /// IRI of the source unit, such as `http://qudt.org/vocab/unit/M`.
        from: String,
        /// IRI of the target unit.
        to: String,
    },
    /// The converted value does not fit into a `Decimal`.
    #[error(
        "Cannot convert {value} from {from} to {to}: the result is outside the supported range \
         (magnitude below 7.9E+28, at most 28 decimal places)"
    )]
    OutOfRange {
        value: Decimal,
        from: String,
        to: String,
    },
    /// The unit table compiled into the crate could not be read.
    #[error("The embedded QUDT unit table is invalid: {0}")]
    Table(String),
}
