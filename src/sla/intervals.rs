//! Sets of half-open UTC intervals `[start, end)` in milliseconds.
//!
//! The engine's domain, fragments, gaps and maintenance are all such sets; every
//! operation keeps the representation canonical (sorted, disjoint, non-touching,
//! non-empty), so equality is set equality.

/// A canonical set of half-open intervals of integer milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Intervals(Vec<(i64, i64)>);

impl Intervals {
    /// The empty set.
    pub(crate) fn empty() -> Self {
        Intervals(Vec::new())
    }

    /// One interval (empty if `end <= start`).
    pub(crate) fn single(start: i64, end: i64) -> Self {
        Self::of([(start, end)])
    }

    /// The canonical form of any list of intervals (empty ones are dropped).
    pub(crate) fn of(items: impl IntoIterator<Item = (i64, i64)>) -> Self {
        let mut v: Vec<(i64, i64)> = items.into_iter().filter(|(s, e)| s < e).collect();
        v.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
        for (s, e) in v {
            match out.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => out.push((s, e)),
            }
        }
        Intervals(out)
    }

    /// The intervals, sorted.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.0.iter().copied()
    }

    /// No instant at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Total length in milliseconds.
    pub(crate) fn measure(&self) -> i64 {
        self.0.iter().map(|(s, e)| e - s).sum()
    }

    /// The first instant and the end of the last interval.
    pub(crate) fn hull(&self) -> Option<(i64, i64)> {
        Some((self.0.first()?.0, self.0.last()?.1))
    }

    /// Instants in both.
    pub(crate) fn intersect(&self, other: &Intervals) -> Intervals {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j) = (0, 0);
        let mut out = Vec::new();
        while i < a.len() && j < b.len() {
            let s = a[i].0.max(b[j].0);
            let e = a[i].1.min(b[j].1);
            if s < e {
                out.push((s, e));
            }
            if a[i].1 < b[j].1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Intervals(out)
    }

    /// Instants in `self` but not in `other`.
    pub(crate) fn subtract(&self, other: &Intervals) -> Intervals {
        let mut out = Vec::new();
        let mut j = 0;
        for &(s, e) in &self.0 {
            let mut cur = s;
            while j < other.0.len() && other.0[j].1 <= cur {
                j += 1;
            }
            let mut k = j;
            while k < other.0.len() && other.0[k].0 < e {
                let (os, oe) = other.0[k];
                if os > cur {
                    out.push((cur, os));
                }
                cur = cur.max(oe);
                if cur >= e {
                    break;
                }
                k += 1;
            }
            if cur < e {
                out.push((cur, e));
            }
        }
        Intervals(out)
    }

    /// Instants in either.
    pub(crate) fn union(&self, other: &Intervals) -> Intervals {
        Self::of(self.0.iter().chain(other.0.iter()).copied())
    }

    /// `self ∩ [start, end)`.
    pub(crate) fn clip(&self, start: i64, end: i64) -> Intervals {
        self.intersect(&Intervals::single(start, end))
    }

    /// The first `len` milliseconds of the set.
    pub(crate) fn prefix(&self, len: i64) -> Intervals {
        let mut left = len;
        let mut out = Vec::new();
        for &(s, e) in &self.0 {
            if left <= 0 {
                break;
            }
            let take = (e - s).min(left);
            out.push((s, s + take));
            left -= take;
        }
        Intervals(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[(i64, i64)]) -> Intervals {
        Intervals::of(v.iter().copied())
    }

    #[test]
    fn canonical_form_merges_touching_and_overlapping() {
        assert_eq!(
            set(&[(5, 7), (0, 2), (2, 3), (6, 9), (4, 4)]).0,
            vec![(0, 3), (5, 9)]
        );
    }

    #[test]
    fn operations_on_examples() {
        let a = set(&[(0, 10), (20, 30)]);
        let b = set(&[(5, 25)]);
        assert_eq!(a.intersect(&b).0, vec![(5, 10), (20, 25)]);
        assert_eq!(a.subtract(&b).0, vec![(0, 5), (25, 30)]);
        assert_eq!(a.union(&b).0, vec![(0, 30)]);
        assert_eq!(a.measure(), 20);
        assert_eq!(a.prefix(15).0, vec![(0, 10), (20, 25)]);
        assert_eq!(
            set(&[(0, 10)]).subtract(&set(&[(2, 3), (5, 6)])).0,
            vec![(0, 2), (3, 5), (6, 10)]
        );
    }

    fn arb() -> impl Strategy<Value = Intervals> {
        prop::collection::vec((0i64..200, 0i64..40), 0..8)
            .prop_map(|v| Intervals::of(v.into_iter().map(|(s, l)| (s, s + l))))
    }

    fn member(s: &Intervals, t: i64) -> bool {
        s.iter().any(|(a, b)| a <= t && t < b)
    }

    proptest! {
        #[test]
        fn set_operations_agree_with_membership(a in arb(), b in arb()) {
            let (i, d, u) = (a.intersect(&b), a.subtract(&b), a.union(&b));
            for t in -1..=241 {
                prop_assert_eq!(member(&i, t), member(&a, t) && member(&b, t));
                prop_assert_eq!(member(&d, t), member(&a, t) && !member(&b, t));
                prop_assert_eq!(member(&u, t), member(&a, t) || member(&b, t));
            }
            prop_assert_eq!(i.measure() + d.measure(), a.measure());
            prop_assert_eq!(Intervals::of(i.iter()), i.clone());
            prop_assert_eq!(Intervals::of(d.iter()), d);
        }
    }
}
