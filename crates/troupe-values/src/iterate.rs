//! What the iteration functions (`each`, `map`, `reduce`, `step`, ...) walk: the
//! (index-or-key, value) pairs of an Iterable, produced one at a time. An Integer range or
//! count is never materialized, so `Integer[1, 200000000].each` costs time (bounded by the
//! compile's deadline), not memory.

use crate::value::{Map, Value};
use std::rc::Rc;

#[derive(Debug, Clone)]
pub enum Pairs {
    /// The array and the half-open window `[front, back)` still to walk.
    Array(Rc<Vec<Value>>, usize, usize),
    Hash(Rc<Map>, usize, usize),
    /// `lo..=hi` still to walk; `base` is the first value (whose index is 0).
    Range {
        base: i64,
        lo: i128,
        hi: i128,
    },
    Chars(Vec<char>, usize, usize),
}

impl Pairs {
    /// The integers `lo..=hi` (empty when `lo > hi`), indexed from 0.
    pub fn range(lo: i64, hi: i64) -> Pairs {
        Pairs::Range {
            base: lo,
            lo: lo as i128,
            hi: hi as i128,
        }
    }

    pub fn chars(s: &str) -> Pairs {
        let cs: Vec<char> = s.chars().collect();
        let n = cs.len();
        Pairs::Chars(cs, 0, n)
    }

    fn at(&self, i: usize) -> (Value, Value) {
        match self {
            Pairs::Array(a, ..) => (Value::Int(i as i64), a[i].clone()),
            Pairs::Hash(h, ..) => match h.get_index(i) {
                Some((k, v)) => (k.clone(), v.clone()),
                None => (Value::Undef, Value::Undef),
            },
            Pairs::Chars(cs, ..) => (Value::Int(i as i64), Value::str(cs[i].to_string())),
            Pairs::Range { .. } => (Value::Undef, Value::Undef),
        }
    }

    fn range_item(base: i64, x: i128) -> (Value, Value) {
        (Value::Int((x - base as i128) as i64), Value::Int(x as i64))
    }
}

impl Iterator for Pairs {
    type Item = (Value, Value);

    fn next(&mut self) -> Option<(Value, Value)> {
        match self {
            Pairs::Range { base, lo, hi } => {
                if *lo > *hi {
                    return None;
                }
                let item = Pairs::range_item(*base, *lo);
                *lo += 1;
                Some(item)
            }
            Pairs::Array(_, f, b) | Pairs::Hash(_, f, b) | Pairs::Chars(_, f, b) => {
                if *f >= *b {
                    return None;
                }
                let i = *f;
                *f += 1;
                Some(self.at(i))
            }
        }
    }

    /// Skips without producing the skipped pairs (`step` over a huge range).
    fn nth(&mut self, n: usize) -> Option<(Value, Value)> {
        match self {
            Pairs::Range { lo, .. } => *lo = lo.saturating_add(n as i128),
            Pairs::Array(_, f, b) | Pairs::Hash(_, f, b) | Pairs::Chars(_, f, b) => {
                *f = f.saturating_add(n).min(*b)
            }
        }
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self {
            Pairs::Range { lo, hi, .. } => {
                usize::try_from((*hi - *lo + 1).max(0)).unwrap_or(usize::MAX)
            }
            Pairs::Array(_, f, b) | Pairs::Hash(_, f, b) | Pairs::Chars(_, f, b) => b - f,
        };
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Pairs {
    fn next_back(&mut self) -> Option<(Value, Value)> {
        match self {
            Pairs::Range { base, lo, hi } => {
                if *lo > *hi {
                    return None;
                }
                let item = Pairs::range_item(*base, *hi);
                *hi -= 1;
                Some(item)
            }
            Pairs::Array(_, f, b) | Pairs::Hash(_, f, b) | Pairs::Chars(_, f, b) => {
                if *f >= *b {
                    return None;
                }
                *b -= 1;
                let i = *b;
                Some(self.at(i))
            }
        }
    }
}

impl ExactSizeIterator for Pairs {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_walks_both_ways_with_indexes_from_zero() {
        let p = Pairs::range(5, 7);
        assert_eq!(p.len(), 3);
        let fwd: Vec<_> = p.clone().collect();
        assert_eq!(fwd[0], (Value::Int(0), Value::Int(5)));
        assert_eq!(fwd[2], (Value::Int(2), Value::Int(7)));
        let back: Vec<_> = p.rev().collect();
        assert_eq!(back[0], (Value::Int(2), Value::Int(7)));
        assert_eq!(Pairs::range(1, 0).count(), 0);
        assert_eq!(Pairs::range(1, 200_000_000).len(), 200_000_000);
        let stepped: Vec<_> = Pairs::range(1, 200_000_000).step_by(50_000_000).collect();
        assert_eq!(stepped.len(), 4);
        assert_eq!(stepped[3].1, Value::Int(150_000_001));
    }
}
