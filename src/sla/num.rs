//! Exact numbers: rationals for every ratio, decimals only at the edges.
//!
//! Every quantity inside the engine is a [`Q`] (an arbitrary-precision rational), so
//! no step loses precision and none can overflow. Rounding happens only where
//! SLA-MODEL.md says, through the functions here, always half-up (half away from zero).

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use rust_decimal::Decimal;

/// An exact rational number.
pub(crate) type Q = BigRational;

/// Milliseconds in a minute, an hour, a day.
pub(crate) const MINUTE_MS: i64 = 60_000;
/// Milliseconds in an hour.
pub(crate) const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in a day of 24 hours.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// An integer as a rational.
pub fn int(i: i64) -> Q {
    Q::from_integer(BigInt::from(i))
}

/// `n / d` exactly. `d` must not be zero.
pub(crate) fn ratio(n: i64, d: i64) -> Q {
    Q::new(BigInt::from(n), BigInt::from(d))
}

/// A decimal as the rational it denotes, exactly.
pub(crate) fn dec(d: Decimal) -> Q {
    Q::new(
        BigInt::from(d.mantissa()),
        BigInt::from(10u32).pow(d.scale()),
    )
}

/// `q` scaled by `10^places` and rounded half-up (half away from zero) to an integer.
fn scaled_half_up(q: &Q, places: u32) -> BigInt {
    let scaled = q * Q::from_integer(BigInt::from(10u32).pow(places));
    let (num, den) = (scaled.numer().abs(), scaled.denom().clone());
    let (quot, rem) = num.div_rem(&den);
    let rounded = if rem * 2u32 >= den { quot + 1u32 } else { quot };
    if scaled.is_negative() {
        -rounded
    } else {
        rounded
    }
}

/// `q` rounded half-up to `places` decimals, as a decimal. Saturates at the decimal
/// range (about 7.9e28), which no money or percentage figure comes near.
pub(crate) fn round_dec(q: &Q, places: u32) -> Decimal {
    let n = scaled_half_up(q, places).to_i128().unwrap_or(i128::MAX);
    Decimal::try_from_i128_with_scale(n, places).unwrap_or(Decimal::MAX)
}

/// `q` rounded half-up to exactly `places` decimals, as text ("99.9005", "20.00").
pub(crate) fn fixed(q: &Q, places: u32) -> String {
    let n = scaled_half_up(q, places);
    let neg = n.is_negative();
    let digits = n.abs().to_string();
    let places = places as usize;
    let body = if places == 0 {
        digits
    } else {
        let padded = format!("{digits:0>width$}", width = places + 1);
        let (int_part, frac) = padded.split_at(padded.len() - places);
        format!("{int_part}.{frac}")
    };
    if neg { format!("-{body}") } else { body }
}

/// The most decimals [`exact`] prints when a value has no finite decimal form.
pub(crate) const EXACT_MAX_PLACES: u32 = 6;

/// `q` as the shortest exact decimal ("43", "209.5"). A value with no finite decimal
/// expansion (a third of a millisecond in minutes) is rounded half-up to
/// [`EXACT_MAX_PLACES`] decimals; trailing zeros are dropped either way.
pub(crate) fn exact(q: &Q) -> String {
    let mut den = q.denom().clone();
    let (two, five) = (BigInt::from(2u32), BigInt::from(5u32));
    let (mut twos, mut fives) = (0u32, 0u32);
    while den.is_even() {
        den /= &two;
        twos += 1;
    }
    while (&den % &five).is_zero() {
        den /= &five;
        fives += 1;
    }
    let places = if den.is_one() {
        twos.max(fives)
    } else {
        EXACT_MAX_PLACES
    };
    let s = fixed(q, places);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Smallest integer >= q.
pub(crate) fn ceil(q: &Q) -> BigInt {
    q.ceil().to_integer()
}

/// Largest integer <= q.
pub(crate) fn floor(q: &Q) -> BigInt {
    q.floor().to_integer()
}

/// Nearest integer, halves up.
pub(crate) fn nearest(q: &Q) -> BigInt {
    scaled_half_up(q, 0)
}

/// The smaller of two rationals.
pub(crate) fn min(a: Q, b: Q) -> Q {
    if a <= b { a } else { b }
}

/// The larger of two rationals.
pub(crate) fn max(a: Q, b: Q) -> Q {
    if a >= b { a } else { b }
}

/// A duration in milliseconds as minutes, exactly ("43", "209.5").
pub(crate) fn minutes(ms: &Q) -> String {
    exact(&(ms / int(MINUTE_MS)))
}

/// A duration in milliseconds in words for traces: "2 h 05 min", "3 d 4 h",
/// "1 h 0 min 1 s", "9.5 min". Sub-second remainders print as exact minutes.
pub(crate) fn human_ms(ms: &Q) -> String {
    if !ms.is_integer()
        || ms.is_negative()
        || ms.to_integer() % BigInt::from(1000) != BigInt::zero()
    {
        return format!("{} min", minutes(ms));
    }
    let total_s = (ms.to_integer() / BigInt::from(1000))
        .to_i64()
        .unwrap_or(i64::MAX);
    let (d, h, m, s) = (
        total_s / 86_400,
        total_s % 86_400 / 3600,
        total_s % 3600 / 60,
        total_s % 60,
    );
    if s != 0 {
        if d == 0 && h == 0 && m == 0 {
            return format!("{s} s");
        }
        if d == 0 && h == 0 && s == 30 {
            return format!("{} min", minutes(ms));
        }
        let mut out = Vec::new();
        if d > 0 {
            out.push(format!("{d} d"));
        }
        if d > 0 || h > 0 {
            out.push(format!("{h} h"));
        }
        out.push(format!("{m} min"));
        out.push(format!("{s} s"));
        return out.join(" ");
    }
    match (d, h, m) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m:02} min"),
        (d, 0, 0) => format!("{d} d"),
        (d, h, 0) => format!("{d} d {h} h"),
        (d, h, m) => format!("{d} d {h} h {m:02} min"),
    }
}

/// An instant for traces: RFC 3339 UTC, or the raw milliseconds when out of range.
pub(super) fn ts(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| format!("{ms} ms"), |t| t.to_string())
}

/// Milliseconds as exact hours, for traces and pro-rata credits.
pub(super) fn hours(ms: &Q) -> Q {
    ms / int(HOUR_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_rounds_half_up_at_the_last_place() {
        let cases = [
            (ratio(43157, 43200) * int(100), 4, "99.9005"), // 99.900462...
            (ratio(1, 2), 0, "1"),
            (ratio(-1, 2), 0, "-1"),
            (ratio(5, 1000), 2, "0.01"), // 0.005 -> 0.01
            (ratio(4999, 1_000_000), 2, "0.00"),
            (ratio(204, 31), 2, "6.58"), // 3/31 x 68 = 6.5806...
            (int(1200), 2, "1200.00"),
            (ratio(999_995, 10_000), 4, "99.9995"),
        ];
        for (q, places, want) in cases {
            assert_eq!(fixed(&q, places), want, "{q} to {places} places");
        }
    }

    #[test]
    fn exact_prints_the_shortest_terminating_form() {
        assert_eq!(exact(&int(43)), "43");
        assert_eq!(exact(&ratio(419, 2)), "209.5");
        assert_eq!(exact(&ratio(1, 8)), "0.125");
        assert_eq!(exact(&ratio(1, 3)), "0.333333");
        assert_eq!(exact(&ratio(2, 3)), "0.666667");
        assert_eq!(exact(&int(0)), "0");
        assert_eq!(minutes(&int(90_000)), "1.5");
    }

    #[test]
    fn decimals_convert_exactly() {
        let d: Decimal = "99.89996".parse().unwrap();
        assert_eq!(dec(d), ratio(9_989_996, 100_000));
        assert_eq!(round_dec(&ratio(1, 3), 2).to_string(), "0.33");
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_ms(&int(125 * MINUTE_MS)), "2 h 05 min");
        assert_eq!(human_ms(&int(90_000 * 19)), "28.5 min");
        assert_eq!(human_ms(&int(DAY_MS * 4 + HOUR_MS * 22)), "4 d 22 h");
        assert_eq!(human_ms(&int(HOUR_MS + 1000)), "1 h 0 min 1 s");
        assert_eq!(human_ms(&int(1000)), "1 s");
        assert_eq!(human_ms(&int(1500)), "0.025 min");
    }
}
