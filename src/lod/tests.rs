//! The contract of the module, checked against a naive scan written to be obviously right.

use proptest::prelude::*;

use super::*;

// ---------------------------------------------------------------------------------------
// The reference and comparisons.

/// First minimum and first maximum of `samples[a..b]` by one strict comparison per sample.
fn naive_extremes<T: Sample>(
    samples: &[T],
    a: usize,
    b: usize,
) -> Option<((usize, T), (usize, T))> {
    let mut lo: Option<(usize, T)> = None;
    let mut hi: Option<(usize, T)> = None;
    for (i, &x) in samples.iter().enumerate().take(b).skip(a) {
        if x.is_nan() {
            continue;
        }
        if lo.is_none_or(|(_, m)| x < m) {
            lo = Some((i, x));
        }
        if hi.is_none_or(|(_, m)| x > m) {
            hi = Some((i, x));
        }
    }
    Some((lo?, hi?))
}

/// The M4 bin of `samples[a..b]`, from the definitions.
fn naive_bin<T: Sample>(samples: &[T], a: usize, b: usize) -> M4Bin {
    let ((min_index, min), (max_index, max)) = naive_extremes(samples, a, b)
        .map(|((i, lo), (j, hi))| ((i, lo.to_f64()), (j, hi.to_f64())))
        .unwrap_or(((a, f64::NAN), (a, f64::NAN)));
    M4Bin {
        first_index: a as u64,
        first: samples[a].to_f64(),
        min_index: min_index as u64,
        min,
        max_index: max_index as u64,
        max,
        last_index: (b - 1) as u64,
        last: samples[b - 1].to_f64(),
    }
}

/// The M4 bins of a window, from the definitions.
fn naive_m4<T: Sample>(samples: &[T], start: usize, stop: usize, bins: usize) -> Vec<M4Bin> {
    let width = stop - start;
    let count = bins.min(width);
    (0..count)
        .map(|i| {
            naive_bin(
                samples,
                start + i * width / count,
                start + (i + 1) * width / count,
            )
        })
        .collect()
}

/// Bit-exact equality, except that any NaN equals any NaN.
fn same_f64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn same_bin(a: &M4Bin, b: &M4Bin) -> bool {
    a.first_index == b.first_index
        && same_f64(a.first, b.first)
        && a.min_index == b.min_index
        && same_f64(a.min, b.min)
        && a.max_index == b.max_index
        && same_f64(a.max, b.max)
        && a.last_index == b.last_index
        && same_f64(a.last, b.last)
}

/// `Ok` if the bins agree, else a description of the first difference.
fn compare_bins(got: &[M4Bin], want: &[M4Bin]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} bins, expected {}", got.len(), want.len()));
    }
    match got.iter().zip(want).position(|(g, w)| !same_bin(g, w)) {
        None => Ok(()),
        Some(i) => Err(format!("bin {i}: got {:?}, expected {:?}", got[i], want[i])),
    }
}

// ---------------------------------------------------------------------------------------
// Series and windows.

/// splitmix64: a seeded series is reproducible from the seed proptest prints.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Values that make ties and the NaN and zero rules matter.
const PALETTE: [f64; 10] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    -1.0,
    1.0,
    2.0,
    3.5,
    -7.25,
];

/// A series of `len` samples in one of four styles: palette picks, runs (constant, NaN,
/// ramps), a random walk, or mostly NaN.
fn make_series(len: usize, seed: u64, style: u8) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(len);
    let mut walk = 0.0;
    while out.len() < len {
        match style % 4 {
            0 => out.push(PALETTE[rng.below(PALETTE.len() as u64) as usize]),
            1 => {
                let run = 1 + rng.below(300) as usize;
                let kind = rng.below(5);
                let base = PALETTE[rng.below(PALETTE.len() as u64) as usize];
                for k in 0..run {
                    out.push(match kind {
                        0 => base,
                        1 => f64::NAN,
                        2 => k as f64,
                        3 => -(k as f64),
                        _ => (rng.below(7) as f64) - 3.0,
                    });
                }
            }
            2 => {
                walk += rng.unit() - 0.5;
                out.push(if rng.below(50) == 0 { f64::NAN } else { walk });
            }
            _ => out.push(if rng.below(200) == 0 {
                PALETTE[rng.below(PALETTE.len() as u64) as usize]
            } else {
                f64::NAN
            }),
        }
    }
    out.truncate(len);
    out
}

/// Lengths from empty to tens of thousands, with extra weight just around the block and
/// group sizes, where the pyramid's ragged ends change shape.
fn lengths() -> impl Strategy<Value = usize> {
    let edges = vec![
        BLOCK,
        2 * BLOCK,
        BLOCK * FANOUT,
        BLOCK * FANOUT + BLOCK,
        2 * BLOCK * FANOUT,
        BLOCK * FANOUT * FANOUT,
        2 * BLOCK * FANOUT * FANOUT,
    ];
    prop_oneof![
        6 => 0usize..3000,
        3 => (prop::sample::select(edges), -3i64..=3)
            .prop_map(|(edge, d)| (edge as i64 + d).max(0) as usize),
        1 => 3000usize..70_000,
    ]
}

/// A window of a series of `len` samples: often the whole series or an end, else random.
fn window(rng: &mut Rng, len: usize) -> (usize, usize) {
    match rng.below(4) {
        0 => (0, len),
        1 => {
            let start = rng.below(len as u64 + 1) as usize;
            (start, len)
        }
        _ => {
            let start = rng.below(len as u64 + 1) as usize;
            let stop = start + rng.below((len - start) as u64 + 1) as usize;
            (start, stop)
        }
    }
}

/// A bin count: few, many, or more than the window has samples.
fn bin_count(rng: &mut Rng, width: usize) -> usize {
    match rng.below(4) {
        0 => 1 + rng.below(8) as usize,
        1 => 1 + rng.below(400) as usize,
        2 => (width + 1 + rng.below(5) as usize).min(MAX_BINS),
        _ => (1 + width / (1 + rng.below(300) as usize)).min(MAX_BINS),
    }
}

// ---------------------------------------------------------------------------------------
// Exactness.

/// Several random windows of one series: the pyramid and the scan both equal the naive M4,
/// and `min_max` equals the naive extremes.
fn check_series<T: Sample>(samples: &[T], seed: u64) -> Result<(), TestCaseError> {
    let pyramid = Pyramid::build(samples);
    prop_assert_eq!(pyramid.len(), samples.len() as u64);
    let mut rng = Rng(seed ^ 0x5eed);
    for _ in 0..8 {
        let (start, stop) = window(&mut rng, samples.len());
        let bins = bin_count(&mut rng, stop - start);
        let want = naive_m4(samples, start, stop, bins);
        let (a, b) = (start as u64, stop as u64);
        let label = format!(
            "window [{start}, {stop}) of {} in {bins} bins",
            samples.len()
        );
        let got = pyramid
            .m4(samples, a, b, bins)
            .map_err(|e| TestCaseError::fail(format!("{label}: {e}")))?;
        if let Err(diff) = compare_bins(&got, &want) {
            return Err(TestCaseError::fail(format!("Pyramid::m4, {label}: {diff}")));
        }
        // The same with every bin through the pyramid, however narrow.
        let ranges = super::m4::bin_ranges(start, stop, bins);
        let found = pyramid.first_min_max(samples, &ranges, 0);
        let got: Vec<M4Bin> = ranges
            .into_iter()
            .zip(found)
            .map(|(range, found)| super::m4::make_bin(samples, range, found))
            .collect();
        if let Err(diff) = compare_bins(&got, &want) {
            return Err(TestCaseError::fail(format!(
                "Pyramid::m4 without raw scans, {label}: {diff}"
            )));
        }
        let scanned = m4_scan(samples, a, b, bins)
            .map_err(|e| TestCaseError::fail(format!("{label}: {e}")))?;
        if let Err(diff) = compare_bins(&scanned, &want) {
            return Err(TestCaseError::fail(format!("m4_scan, {label}: {diff}")));
        }

        let got = pyramid
            .min_max(samples, a, b)
            .map_err(|e| TestCaseError::fail(format!("{label}: {e}")))?;
        let want = (start < stop).then(|| {
            naive_extremes(samples, start, stop)
                .map(|((i, lo), (j, hi))| ((i as u64, lo.to_f64()), (j as u64, hi.to_f64())))
                .unwrap_or(((a, f64::NAN), (a, f64::NAN)))
        });
        let got = got.map(|((i, lo), (j, hi))| ((i, lo.to_f64()), (j, hi.to_f64())));
        let same = match (got, want) {
            (None, None) => true,
            (Some(((i, lo), (j, hi))), Some(((wi, wlo), (wj, whi)))) => {
                i == wi && j == wj && same_f64(lo, wlo) && same_f64(hi, whi)
            }
            _ => false,
        };
        prop_assert!(
            same,
            "min_max, {}: got {:?}, expected {:?}",
            label,
            got,
            want
        );
        if start < stop {
            let positions = naive_extremes(samples, start, stop).map(|((i, _), (j, _))| (i, j));
            let found = pyramid.first_min_max(samples, &[(start, stop)], 0);
            prop_assert_eq!(
                &found,
                &vec![positions],
                "min_max without raw scans, {}",
                label
            );
        }
    }
    Ok(())
}

proptest! {
    /// A build split into parts (as the server splits it across threads) makes the same
    /// pyramid, byte for byte.
    #[test]
    fn a_build_in_parts_is_the_build(len in lengths(), seed in any::<u64>(), parts in 1usize..5) {
        let samples: Vec<f32> = make_series(len, seed, 2).into_iter().map(|x| x as f32).collect();
        let blocks = len / BLOCK;
        let per = blocks.div_ceil(parts).max(1);
        let nodes: Vec<[f32; 2]> = (0..parts)
            .flat_map(|p| Pyramid::block_nodes(&samples, (p * per).min(blocks), ((p + 1) * per).min(blocks)))
            .collect();
        prop_assert_eq!(
            Pyramid::from_blocks(len, nodes).to_bytes(),
            Pyramid::build(&samples).to_bytes()
        );
    }
}

/// `samples` as column 1 of a (N, 3) array stored in the other byte order and one byte off
/// alignment: the worst case a view reads in place.
fn strided_copy<T: Sample>(samples: &[T]) -> Vec<u8> {
    let mut bytes = vec![0u8; 1 + (samples.len() * 3 + 2) * T::SIZE];
    for (i, sample) in samples.iter().enumerate() {
        let at = 1 + (i * 3 + 1) * T::SIZE;
        bytes[at..at + T::SIZE].copy_from_slice(bytemuck::bytes_of(&sample.swapped()));
    }
    bytes
}

/// A pyramid built over a strided, byte-swapped, misaligned view of `samples` has the same
/// nodes as one built over the slice, and its answers and the view's scan equal the naive M4.
fn check_view<T: Sample>(samples: &[T], seed: u64) -> Result<(), TestCaseError> {
    let bytes = strided_copy(samples);
    let view = View::<T>::new(&bytes[1 + T::SIZE..], samples.len(), 3 * T::SIZE, true)
        .ok_or_else(|| TestCaseError::fail("the view does not fit"))?;
    prop_assert!(matches!(view, View::Strided(_)));
    let pyramid = Pyramid::build(&view);
    prop_assert_eq!(pyramid.to_bytes(), Pyramid::build(samples).to_bytes());
    let mut rng = Rng(seed ^ 0x71e5);
    for _ in 0..6 {
        let (start, stop) = window(&mut rng, samples.len());
        let bins = bin_count(&mut rng, stop - start);
        let want = naive_m4(samples, start, stop, bins);
        let label = format!(
            "{} window [{start}, {stop}) in {bins} bins",
            String::from_utf8_lossy(&T::DTYPE)
        );
        let (a, b) = (start as u64, stop as u64);
        let got = pyramid
            .m4(&view, a, b, bins)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Err(diff) = compare_bins(&got, &want) {
            return Err(TestCaseError::fail(format!(
                "Pyramid::m4 of a view, {label}: {diff}"
            )));
        }
        let scanned = m4_scan(&view, a, b, bins).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Err(diff) = compare_bins(&scanned, &want) {
            return Err(TestCaseError::fail(format!(
                "m4_scan of a view, {label}: {diff}"
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_sample_type_reads_in_place(len in lengths(), seed in any::<u64>(), style in 0u8..4) {
        let series = make_series(len, seed, style);
        let f32s: Vec<f32> = series.iter().map(|&x| x as f32).collect();
        check_view(&f32s, seed)?;
        check_view(&series, seed)?;
        let f16s: Vec<half::f16> = series.iter().map(|&x| half::f16::from_f64(x)).collect();
        check_view(&f16s, seed)?;
        // Integers from the same shapes (NaN casts to 0, infinities saturate).
        let i16s: Vec<i16> = series.iter().map(|&x| (x * 1000.0) as i16).collect();
        check_view(&i16s, seed)?;
        let u8s: Vec<u8> = series.iter().map(|&x| x as u8).collect();
        check_view(&u8s, seed)?;
        let i64s: Vec<i64> = series.iter().map(|&x| (x * 1e12) as i64).collect();
        check_view(&i64s, seed)?;
        let u32s: Vec<u32> = series.iter().map(|&x| (x * 1e6) as u32).collect();
        check_view(&u32s, seed)?;
        // Datetime counts keep NaT as their NaN; bools chart as 0 and 1.
        let counts: Vec<Count> = series
            .iter()
            .map(|&x| if x.is_nan() { Count::NAT } else { Count((x * 1e9) as i64) })
            .collect();
        check_view(&counts, seed)?;
        let truths: Vec<Truth> = series.iter().map(|&x| Truth((x * 3.0) as u8)).collect();
        check_view(&truths, seed)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn pyramid_m4_equals_scan_f32(len in lengths(), seed in any::<u64>(), style in 0u8..4) {
        let samples: Vec<f32> = make_series(len, seed, style).into_iter().map(|x| x as f32).collect();
        check_series(&samples, seed)?;
    }

    #[test]
    fn pyramid_m4_equals_scan_f64(len in lengths(), seed in any::<u64>(), style in 0u8..4) {
        check_series(&make_series(len, seed, style), seed)?;
    }

    /// Drawn as a chart: every pixel column's vertical extent is exactly the series' own,
    /// and its four points are the column's first, last and extreme samples.
    #[test]
    fn chart_columns_keep_every_extreme(len in 1usize..40_000, seed in any::<u64>(), style in 0u8..4, px_width in 1usize..900) {
        let samples: Vec<f32> = make_series(len, seed, style).into_iter().map(|x| x as f32).collect();
        let pyramid = Pyramid::build(&samples);
        let mut rng = Rng(seed);
        let (start, stop) = window(&mut rng, len);
        let bins = pyramid.m4(&samples, start as u64, stop as u64, px_width).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let width = stop - start;
        let columns = px_width.min(width);
        prop_assert_eq!(bins.len(), columns);
        // Columns by the pixel of each sample, an independent spelling of the bin edges:
        // sample `o` of the window is in the last column `c` with `floor(c * width / columns) <= o`.
        let px_from_index = |i: usize| ((i - start + 1) * columns).div_ceil(width) - 1;
        let mut column_samples: Vec<Vec<(usize, f32)>> = vec![Vec::new(); columns];
        for (i, &x) in samples.iter().enumerate().take(stop).skip(start) {
            column_samples[px_from_index(i)].push((i, x));
        }
        for (px, (bin, column)) in bins.iter().zip(&column_samples).enumerate() {
            prop_assert!(!column.is_empty(), "column {} is empty", px);
            prop_assert_eq!(bin.first_index as usize, column[0].0, "column {} first index", px);
            prop_assert_eq!(bin.last_index as usize, column[column.len() - 1].0, "column {} last index", px);
            let values: Vec<f32> = column.iter().map(|&(_, x)| x).filter(|x| !x.is_nan()).collect();
            let lo = values.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            if values.is_empty() {
                prop_assert!(bin.min.is_nan() && bin.max.is_nan(), "column {} is all NaN: {:?}", px, bin);
            } else {
                prop_assert!(bin.min == f64::from(lo) && bin.max == f64::from(hi), "column {}: extent [{}, {}], bin {:?}", px, lo, hi, bin);
                prop_assert!(samples[bin.min_index as usize] == lo && samples[bin.max_index as usize] == hi, "column {}: the indices do not point at the extremes: {:?}", px, bin);
            }
        }
    }

    /// Appending in chunks and extending gives the nodes, bytes and answers of one build.
    #[test]
    fn extend_equals_build(len in lengths(), seed in any::<u64>(), style in 0u8..4, cuts in prop::collection::vec(any::<u64>(), 0..6)) {
        let samples = make_series(len, seed, style);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| (c % (len as u64 + 1)) as usize).collect();
        cuts.push(len);
        cuts.sort_unstable();
        let mut grown = Pyramid::build(&samples[..0]);
        for &cut in &cuts {
            grown.extend(&samples[..cut]);
            prop_assert_eq!(grown.len(), cut as u64);
        }
        let built = Pyramid::build(&samples);
        prop_assert!(grown.to_bytes() == built.to_bytes(), "bytes differ after extending at {:?}", cuts);
        let mut rng = Rng(seed);
        let (start, stop) = window(&mut rng, len);
        let bins = bin_count(&mut rng, stop - start);
        let (a, b) = (start as u64, stop as u64);
        let (got, want) = (grown.m4(&samples, a, b, bins), built.m4(&samples, a, b, bins));
        match (got, want) {
            (Ok(got), Ok(want)) => prop_assert!(compare_bins(&got, &want).is_ok()),
            (got, want) => prop_assert!(false, "got {:?}, expected {:?}", got, want),
        }
    }

    /// Bytes round-trip to the same pyramid, and damaged copies are refused.
    #[test]
    fn bytes_round_trip(len in lengths(), seed in any::<u64>(), style in 0u8..4, flip in any::<u64>()) {
        let samples = make_series(len, seed, style);
        let pyramid = Pyramid::build(&samples);
        let bytes = pyramid.to_bytes();
        let loaded = Pyramid::<f64>::from_bytes(&bytes, len as u64).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(loaded.to_bytes() == bytes);
        let mut rng = Rng(seed);
        let (start, stop) = window(&mut rng, len);
        let bins = bin_count(&mut rng, stop - start);
        let (a, b) = (start as u64, stop as u64);
        prop_assert!(compare_bins(&loaded.m4(&samples, a, b, bins).unwrap_or_default(), &naive_m4(&samples, start, stop, bins)).is_ok());

        // Any one bit flipped: some error, never a panic or a silently different pyramid.
        let mut damaged = bytes.clone();
        let bit = (flip % (8 * bytes.len() as u64)) as usize;
        damaged[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(Pyramid::<f64>::from_bytes(&damaged, len as u64).is_err(), "bit {} flipped was accepted", bit);
    }

    /// Arbitrary bytes, with or without a valid prefix, are refused without a panic.
    #[test]
    fn hostile_bytes_are_refused(junk in prop::collection::vec(any::<u8>(), 0..400), expected_len in 0u64..5000, keep_prefix in any::<bool>()) {
        let mut bytes = junk;
        if keep_prefix {
            let header = Pyramid::build(&vec![1.0f32; expected_len as usize]).to_bytes();
            let keep = header.len().min(40);
            bytes.splice(0..0, header[..keep].iter().copied());
        }
        prop_assert!(Pyramid::<f32>::from_bytes(&bytes, expected_len).is_err());
        prop_assert!(Pyramid::<f64>::from_bytes(&bytes, expected_len).is_err());
    }

    /// Re-binning the bins of a window at `k` times the resolution gives the bins computed
    /// directly, since every output edge is then a source edge.
    #[test]
    fn merge_bins_of_aligned_bins_is_exact(len in 1usize..20_000, seed in any::<u64>(), style in 0u8..4, bins in 1usize..200, k in 1usize..8) {
        let samples = make_series(len, seed, style);
        let mut rng = Rng(seed);
        let (start, stop) = window(&mut rng, len);
        prop_assume!(stop - start >= k * bins);
        let (a, b) = (start as u64, stop as u64);
        let fine = m4_scan(&samples, a, b, k * bins).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let coarse = m4_scan(&samples, a, b, bins).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let merged = merge_bins(&fine, a, b, bins);
        if let Err(diff) = compare_bins(&merged, &coarse) {
            return Err(TestCaseError::fail(format!("[{start}, {stop}) {k}×{bins} bins merged: {diff}")));
        }
    }

    /// Re-binning over a window that does not line up (a pan) keeps every source extreme
    /// whose bin starts inside, and never invents one.
    #[test]
    fn merge_bins_of_a_pan_is_bounded(len in 1000usize..20_000, seed in any::<u64>(), bins in 1usize..100, shift in 0usize..500) {
        let samples = make_series(len, seed, 2);
        let source = m4_scan(&samples, 0, len as u64, 1000).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (a, b) = (shift as u64, (len - shift / 2) as u64);
        let merged = merge_bins(&source, a, b, bins);
        prop_assert!(merged.len() <= bins);
        prop_assert!(merged.windows(2).all(|w| w[0].last_index < w[1].first_index), "merged bins overlap or are out of order");
        for bin in &merged {
            prop_assert!((a..b).contains(&bin.first_index));
            for (index, value) in [(bin.min_index, bin.min), (bin.max_index, bin.max)] {
                prop_assert!(value.is_nan() || same_f64(samples[index as usize], value), "{:?} does not point at its samples", bin);
            }
        }
        let covered: Vec<&M4Bin> = source.iter().filter(|s| (a..b).contains(&s.first_index)).collect();
        let lo = covered.iter().map(|s| s.min).filter(|x| !x.is_nan()).fold(f64::INFINITY, f64::min);
        let merged_lo = merged.iter().map(|s| s.min).filter(|x| !x.is_nan()).fold(f64::INFINITY, f64::min);
        prop_assert_eq!(lo, merged_lo);
    }
}

// ---------------------------------------------------------------------------------------
// The rules, case by case.

#[test]
fn nan_zero_and_infinity_rules() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    /// `(min_index, min, max_index, max)` of the one bin.
    type Extremes = (u64, f64, u64, f64);
    let cases: [(&str, Vec<f64>, Extremes); 7] = [
        ("all NaN", vec![nan, nan, nan], (0, nan, 0, nan)),
        ("NaN around a value", vec![nan, 2.0, nan], (1, 2.0, 1, 2.0)),
        (
            "first of equal minima",
            vec![3.0, 1.0, 5.0, 1.0, 5.0],
            (1, 1.0, 2, 5.0),
        ),
        (
            "0.0 before -0.0",
            vec![1.0, 0.0, -0.0, 1.0],
            (1, 0.0, 0, 1.0),
        ),
        (
            "-0.0 before 0.0",
            vec![-1.0, -0.0, 0.0, -1.0],
            (0, -1.0, 1, -0.0),
        ),
        (
            "infinities are values",
            vec![nan, inf, -inf, 0.0],
            (2, -inf, 1, inf),
        ),
        ("only +inf", vec![nan, inf, inf], (1, inf, 1, inf)),
    ];
    for (label, samples, (min_index, min, max_index, max)) in cases {
        let bins = m4_scan(&samples, 0, samples.len() as u64, 1).expect(label);
        let pyramid = Pyramid::build(&samples);
        let from_pyramid = pyramid
            .m4(&samples, 0, samples.len() as u64, 1)
            .expect(label);
        assert!(
            compare_bins(&bins, &from_pyramid).is_ok(),
            "{label}: scan and pyramid differ"
        );
        let bin = bins[0];
        assert_eq!(bin.min_index, min_index, "{label}: min index");
        assert!(same_f64(bin.min, min), "{label}: min {} != {min}", bin.min);
        assert_eq!(bin.max_index, max_index, "{label}: max index");
        assert!(same_f64(bin.max, max), "{label}: max {} != {max}", bin.max);
        assert!(
            same_f64(bin.first, samples[0]),
            "{label}: first is the first sample, NaN or not"
        );
        assert!(
            same_f64(bin.last, samples[samples.len() - 1]),
            "{label}: last is the last sample, NaN or not"
        );
    }
}

#[test]
fn small_windows_give_one_bin_per_sample() {
    let samples = [4.0f32, f32::NAN, -1.0, 7.0, 7.0];
    let pyramid = Pyramid::build(&samples);
    let bins = pyramid.m4(&samples, 1, 4, 100).expect("valid window");
    assert_eq!(bins.len(), 3, "window of 3 samples in 100 bins");
    for (bin, index) in bins.iter().zip(1u64..) {
        assert_eq!(
            (bin.first_index, bin.last_index),
            (index, index),
            "bin of sample {index}"
        );
    }
    assert!(
        pyramid
            .m4(&samples, 2, 2, 10)
            .expect("empty window")
            .is_empty(),
        "empty window"
    );
    assert_eq!(
        pyramid.min_max(&samples, 3, 3),
        Ok(None),
        "empty window min_max"
    );
}

#[test]
fn invalid_queries_are_refused() {
    let samples = vec![0.5f64; 1000];
    let pyramid = Pyramid::build(&samples);
    let cases: [(&str, u64, u64, usize, LodError); 6] = [
        ("zero bins", 0, 10, 0, LodError::ZeroBins),
        (
            "zero bins before a bad window",
            20,
            10,
            0,
            LodError::ZeroBins,
        ),
        (
            "too many bins",
            0,
            10,
            MAX_BINS + 1,
            LodError::TooManyBins {
                bins: MAX_BINS + 1,
                limit: MAX_BINS,
            },
        ),
        (
            "start after stop",
            20,
            10,
            5,
            LodError::ReversedWindow {
                start: 20,
                stop: 10,
            },
        ),
        (
            "stop past the end",
            0,
            1001,
            5,
            LodError::WindowOutOfRange {
                stop: 1001,
                len: 1000,
            },
        ),
        (
            "start and stop past the end",
            2000,
            3000,
            5,
            LodError::WindowOutOfRange {
                stop: 3000,
                len: 1000,
            },
        ),
    ];
    for (label, start, stop, bins, error) in cases {
        assert_eq!(
            m4_scan(&samples, start, stop, bins),
            Err(error.clone()),
            "m4_scan: {label}"
        );
        assert_eq!(
            pyramid.m4(&samples, start, stop, bins),
            Err(error.clone()),
            "Pyramid::m4: {label}"
        );
        assert!(!error.to_string().is_empty(), "{label}: message");
    }
    assert!(
        pyramid.m4(&samples, 0, 1000, MAX_BINS).is_ok(),
        "exactly MAX_BINS is allowed"
    );
    assert_eq!(
        pyramid.min_max(&samples, 5, 4),
        Err(LodError::ReversedWindow { start: 5, stop: 4 }),
        "min_max reversed"
    );
    assert_eq!(
        pyramid.min_max(&samples, 5, 1001),
        Err(LodError::WindowOutOfRange {
            stop: 1001,
            len: 1000
        }),
        "min_max out of range"
    );
    let mismatch = LodError::LengthMismatch {
        pyramid: 1000,
        samples: 999,
    };
    assert_eq!(
        pyramid.m4(&samples[..999], 0, 10, 5),
        Err(mismatch.clone()),
        "m4 on another series"
    );
    assert_eq!(
        pyramid.min_max(&samples[..999], 0, 10),
        Err(mismatch),
        "min_max on another series"
    );
}

#[test]
fn a_pyramid_over_other_samples_does_not_panic() {
    let built_on: Vec<f32> = (0..50_000).map(|i| (i % 977) as f32).collect();
    let other: Vec<f32> = (0..50_000)
        .map(|i| ((i * 7) % 1013) as f32 - 500.0)
        .collect();
    let pyramid = Pyramid::build(&built_on);
    let bins = pyramid.m4(&other, 0, 50_000, 300).expect("same length");
    assert_eq!(bins.len(), 300);
    assert!(pyramid
        .min_max(&other, 100, 40_000)
        .expect("same length")
        .is_some());
}

#[test]
fn shrinking_series_rebuilds() {
    let samples: Vec<f64> = (0..5000).map(|i| f64::from(i).sin()).collect();
    let mut pyramid = Pyramid::build(&samples);
    pyramid.extend(&samples[..1234]);
    assert!(
        pyramid.to_bytes() == Pyramid::build(&samples[..1234]).to_bytes(),
        "extend to a shorter series"
    );
}

#[test]
fn memory_overhead_is_a_thirtieth() {
    let samples = vec![1.0f32; 1 << 20];
    let pyramid = Pyramid::build(&samples);
    let data_bytes = samples.len() * std::mem::size_of::<f32>();
    let bound = data_bytes / 30 + 256;
    assert!(
        pyramid.memory_bytes() <= bound,
        "{} bytes for {} bytes of data, bound {}",
        pyramid.memory_bytes(),
        data_bytes,
        bound
    );
    assert!(
        pyramid.memory_bytes() >= data_bytes / 32,
        "the nodes are counted"
    );
}

// ---------------------------------------------------------------------------------------
// Hostile cache bytes, case by case.

fn sample_cache() -> (Vec<f32>, Vec<u8>) {
    let samples: Vec<f32> = (0..20_000)
        .map(|i| ((i * 37) % 1001) as f32 - 500.0)
        .collect();
    let bytes = Pyramid::build(&samples).to_bytes();
    (samples, bytes)
}

/// Rewrites the checksum so a deliberate edit gets past it.
fn reseal(bytes: &mut [u8]) {
    let body_len = bytes.len() - 8;
    let sum = super::cache::checksum(&bytes[..body_len]);
    bytes[body_len..].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn truncated_caches_are_refused() {
    let (samples, bytes) = sample_cache();
    for keep in 0..bytes.len() {
        let result = Pyramid::<f32>::from_bytes(&bytes[..keep], samples.len() as u64);
        assert!(
            matches!(result, Err(LodError::CacheSize { .. })),
            "truncated to {keep} bytes: {result:?}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(
        matches!(
            Pyramid::<f32>::from_bytes(&longer, samples.len() as u64),
            Err(LodError::CacheSize { .. })
        ),
        "one byte too many"
    );
}

#[test]
fn cache_header_errors_are_clear() {
    let (samples, bytes) = sample_cache();
    let len = samples.len() as u64;
    let edit = |offset: usize, new: &[u8]| {
        let mut b = bytes.clone();
        b[offset..offset + new.len()].copy_from_slice(new);
        reseal(&mut b);
        Pyramid::<f32>::from_bytes(&b, len).map(|_| ())
    };
    let cases: [(&str, Result<(), LodError>); 8] = [
        ("wrong magic", edit(0, b"NOTAPYRM")),
        ("version 2", edit(8, &2u32.to_le_bytes())),
        ("f8 cache read as f4", edit(12, b"<f8\0")),
        ("block of 128", edit(16, &128u32.to_le_bytes())),
        ("another length", edit(24, &(len + 1).to_le_bytes())),
        ("one level too many", edit(32, &9u32.to_le_bytes())),
        ("reserved field set", edit(36, &1u32.to_le_bytes())),
        ("level size edited", edit(40, &1u64.to_le_bytes())),
    ];
    let expected: [LodError; 8] = [
        LodError::CacheBadMagic,
        LodError::CacheVersion(2),
        LodError::CacheSampleType {
            found: "\"<f8\"".into(),
            expected: "\"<f4\"".into(),
        },
        LodError::CacheLayout {
            block: 128,
            fanout: FANOUT as u32,
            expected_block: BLOCK as u32,
            expected_fanout: FANOUT as u32,
        },
        LodError::CacheStale {
            cached: len + 1,
            expected: len,
        },
        LodError::CacheHeader("its number of levels does not match the number of samples"),
        LodError::CacheHeader("its reserved field is not zero"),
        LodError::CacheHeader("its level sizes do not match the number of samples"),
    ];
    for ((label, got), want) in cases.into_iter().zip(expected) {
        assert_eq!(got, Err(want), "{label}");
    }
    assert_eq!(
        Pyramid::<f32>::from_bytes(&bytes, len - 1).map(|_| ()),
        Err(LodError::CacheStale {
            cached: len,
            expected: len - 1
        }),
        "stale cache"
    );
    assert!(
        matches!(
            Pyramid::<f64>::from_bytes(&bytes, len),
            Err(LodError::CacheSampleType { .. })
        ),
        "f4 cache read as f8"
    );
    let mut corrupt = bytes.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x10;
    assert_eq!(
        Pyramid::<f32>::from_bytes(&corrupt, len).map(|_| ()),
        Err(LodError::CacheChecksum),
        "one byte changed"
    );
}

#[test]
fn inconsistent_nodes_are_refused_even_with_a_valid_checksum() {
    let (samples, bytes) = sample_cache();
    let len = samples.len() as u64;
    let levels = u32::from_le_bytes(bytes[32..36].try_into().expect("4 bytes")) as usize;
    let payload = 40 + 8 * levels;
    // Level 0, node 0: min above max.
    let mut swapped = bytes.clone();
    swapped[payload..payload + 4].copy_from_slice(&1e9f32.to_le_bytes());
    reseal(&mut swapped);
    assert_eq!(
        Pyramid::<f32>::from_bytes(&swapped, len).map(|_| ()),
        Err(LodError::CacheInconsistent { level: 0, node: 0 }),
        "min above max"
    );
    // Level 0, node 0: a lower minimum its parent does not know of.
    let mut lowered = bytes.clone();
    lowered[payload..payload + 4].copy_from_slice(&(-1e9f32).to_le_bytes());
    reseal(&mut lowered);
    assert_eq!(
        Pyramid::<f32>::from_bytes(&lowered, len).map(|_| ()),
        Err(LodError::CacheInconsistent { level: 1, node: 0 }),
        "parent out of date"
    );
}

#[test]
fn misaligned_cache_bytes_load() {
    let (samples, bytes) = sample_cache();
    let mut shifted = vec![0u8; 1];
    shifted.extend_from_slice(&bytes);
    let loaded = Pyramid::<f32>::from_bytes(&shifted[1..], samples.len() as u64)
        .expect("misaligned but valid");
    assert!(loaded.to_bytes() == bytes);
}

#[test]
fn merge_bins_edge_cases() {
    let samples: Vec<f64> = (0..100).map(f64::from).collect();
    let source = m4_scan(&samples, 0, 100, 10).expect("valid");
    assert!(merge_bins(&source, 0, 100, 0).is_empty(), "zero bins");
    assert!(merge_bins(&source, 50, 50, 4).is_empty(), "empty window");
    assert!(merge_bins(&source, 60, 40, 4).is_empty(), "reversed window");
    assert!(merge_bins(&[], 0, 100, 4).is_empty(), "no source");
    let mut shuffled = source.clone();
    shuffled.reverse();
    assert!(
        compare_bins(
            &merge_bins(&shuffled, 0, 100, 5),
            &merge_bins(&source, 0, 100, 5)
        )
        .is_ok(),
        "source order does not matter"
    );
    let all = merge_bins(&source, 0, 100, 1);
    assert_eq!(
        (
            all.len(),
            all[0].min_index,
            all[0].max_index,
            all[0].last_index
        ),
        (1, 0, 99, 99),
        "one bin over all"
    );
}
