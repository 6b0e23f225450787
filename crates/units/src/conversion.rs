use rust_decimal::Decimal;

use crate::error::UnitError;
use crate::scientific;
use crate::table::{UnitRef, resolve};

/// A conversion between two resolved units, checked once and applied to many values.
///
/// Formulas whose unit arguments are constants resolve them once, when the formula is
/// compiled, and only call [`Conversion::apply`] per row.
#[derive(Debug, Clone, Copy)]
pub struct Conversion {
    from: UnitRef,
    to: UnitRef,
    /// Same unit, or either side is `unit:UNITLESS`: values pass through unchanged.
    identity: bool,
}

impl Conversion {
    /// Resolves both units as SIF does (see [`resolve`]), `from` first, then checks that
    /// they can be converted.
    ///
    /// # Errors
    ///
    /// [`UnitError::NotRecognized`] for the first unit that does not resolve, then
    /// [`UnitError::DimensionsDiffer`] as for [`Conversion::between`].
    pub fn new(from: &str, to: &str, quantity_kind: Option<&str>) -> Result<Self, UnitError> {
        Self::between(resolve(from, quantity_kind)?, resolve(to, quantity_kind)?)
    }

    /// A conversion between resolved units: identity for the same unit or when either is
    /// `unit:UNITLESS`, otherwise the dimension vectors must be equal.
    ///
    /// # Errors
    ///
    /// [`UnitError::DimensionsDiffer`] when they are not.
    pub fn between(from: UnitRef, to: UnitRef) -> Result<Self, UnitError> {
        let identity =
            from.local_name() == to.local_name() || from.is_unitless() || to.is_unitless();
        if !identity && from.dimension_vector() != to.dimension_vector() {
            return Err(UnitError::DimensionsDiffer {
                from: from.iri(),
                to: to.iri(),
            });
        }
        Ok(Self { from, to, identity })
    }

    pub fn from_unit(&self) -> UnitRef {
        self.from
    }

    pub fn to_unit(&self) -> UnitRef {
        self.to
    }

    /// `((value + fromOffset) × fromMultiplier / toMultiplier) − toOffset`, with trailing
    /// zeros removed.
    ///
    /// SIF rounds the product and the quotient to 34 significant digits; a `Decimal` keeps
    /// 28 or 29 significant digits and at most 28 decimal places, so long quotients end
    /// earlier.
    ///
    /// # Errors
    ///
    /// [`UnitError::OutOfRange`] when the result (or `value + fromOffset`) does not fit into a
    /// `Decimal`, including a non-zero result that would round to zero.
    pub fn apply(&self, value: Decimal) -> Result<Decimal, UnitError> {
        if self.identity {
            return Ok(value.normalize());
        }
        self.linear(value)
            .map(|result| result.normalize())
            .ok_or_else(|| UnitError::OutOfRange {
                value,
                from: self.from.iri(),
                to: self.to.iri(),
            })
    }

    fn linear(&self, value: Decimal) -> Option<Decimal> {
        let shifted = value.checked_add(self.from.offset)?;
        scientific::multiply_divide(shifted, self.from.multiplier, self.to.multiplier)?
            .checked_sub(self.to.offset)
    }
}

/// Converts `value` from one unit to another the way SIF's `CONVERT(value, from, to,
/// qualityKind=…)` does. `quantity_kind` is `None` when the formula gives none.
///
/// # Errors
///
/// As [`Conversion::new`], then [`Conversion::apply`].
pub fn convert(
    value: Decimal,
    from: &str,
    to: &str,
    quantity_kind: Option<&str>,
) -> Result<Decimal, UnitError> {
    Conversion::new(from, to, quantity_kind)?.apply(value)
}
