//! Element conversions of tensors stored little-endian: floats between f64, f32, f16 and bf16
//! (rounded to nearest, ties to even; NaN and infinities kept), and 2-D transposes.

use half::{bf16, f16};

use super::Dtype;

/// Whether `dtype` is a float type a checkpoint can be cast from or to.
pub(crate) fn is_float(dtype: Dtype) -> bool {
    matches!(dtype, Dtype::F64 | Dtype::F32 | Dtype::F16 | Dtype::BF16)
}

/// The elements of `src`, of type `from`, as `to` (both float types: see [`is_float`]).
pub(crate) fn cast(src: &[u8], from: Dtype, to: Dtype) -> Vec<u8> {
    if from == to {
        return src.to_vec();
    }
    let mut out = vec![0u8; src.len() / from.size() * to.size()];
    for (s, d) in src.chunks_exact(from.size()).zip(out.chunks_exact_mut(to.size())) {
        match (from, to) {
            // Exact: a half-precision value widened.
            (Dtype::F16, Dtype::F32) => {
                d.copy_from_slice(&f16::from_le_bytes([s[0], s[1]]).to_f32().to_le_bytes())
            }
            (Dtype::BF16, Dtype::F32) => d.copy_from_slice(&[0, 0, s[0], s[1]]),
            (Dtype::F32, Dtype::F16) => d.copy_from_slice(&f16::from_f32(f32_of(s)).to_le_bytes()),
            (Dtype::F32, Dtype::BF16) => d.copy_from_slice(&bf16::from_f32(f32_of(s)).to_le_bytes()),
            // Through f64, which holds every value of the others exactly: one rounding.
            _ => encode(to, decode(from, s), d),
        }
    }
    out
}

fn f32_of(b: &[u8]) -> f32 {
    f32::from_le_bytes(b.try_into().expect("4 bytes"))
}

fn decode(dtype: Dtype, b: &[u8]) -> f64 {
    match dtype {
        Dtype::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
        Dtype::F32 => f32_of(b).into(),
        Dtype::F16 => f16::from_le_bytes(b.try_into().expect("2 bytes")).to_f64(),
        _ => bf16::from_le_bytes(b.try_into().expect("2 bytes")).to_f64(),
    }
}

fn encode(dtype: Dtype, v: f64, out: &mut [u8]) {
    match dtype {
        Dtype::F64 => out.copy_from_slice(&v.to_le_bytes()),
        Dtype::F32 => out.copy_from_slice(&(v as f32).to_le_bytes()),
        Dtype::F16 => out.copy_from_slice(&f16::from_f64(v).to_le_bytes()),
        _ => out.copy_from_slice(&bf16::from_f64(v).to_le_bytes()),
    }
}

/// The transpose of a `rows × cols` matrix of `width`-byte elements stored row by row.
pub(crate) fn transpose(src: &[u8], rows: usize, cols: usize, width: usize) -> Vec<u8> {
    let mut out = vec![0u8; src.len()];
    for r in 0..rows {
        for c in 0..cols {
            let from = (r * cols + c) * width;
            let to = (c * rows + r) * width;
            out[to..to + width].copy_from_slice(&src[from..from + width]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn back_to_f32(bytes: &[u8]) -> Vec<f32> {
        bytes.chunks_exact(4).map(f32_of).collect()
    }

    #[test]
    fn bf16_round_trips_within_its_precision() {
        let values: Vec<f32> = (0..2000).map(|i| (i as f32 - 1000.0) * 0.3711 + 1e-3).collect();
        let bf = cast(&f32s(&values), Dtype::F32, Dtype::BF16);
        assert_eq!(bf.len(), values.len() * 2);
        let back = back_to_f32(&cast(&bf, Dtype::BF16, Dtype::F32));
        for (v, b) in values.iter().zip(&back) {
            // 8 bits of mantissa: half a unit in the last place is 2^-8 of the value.
            assert!((v - b).abs() <= v.abs() * (1.0 / 256.0), "{v} -> {b}");
        }
        // Widening is exact: casting the result down again changes nothing.
        assert_eq!(cast(&f32s(&back), Dtype::F32, Dtype::BF16), bf);
    }

    #[test]
    fn f16_rounds_to_nearest_even() {
        // 1 + 2^-11 lies halfway between 1 and the next f16 (1 + 2^-10): to even, 1.
        // 1 + 3·2^-11 lies halfway between 1 + 2^-10 and 1 + 2^-9: to even, 1 + 2^-9.
        let one = 1.0f32;
        let half_up = one + 2f32.powi(-11);
        let three_halves = one + 3.0 * 2f32.powi(-11);
        let just_above = one + 2f32.powi(-11) + 2f32.powi(-20);
        let out = cast(
            &f32s(&[half_up, three_halves, just_above]),
            Dtype::F32,
            Dtype::F16,
        );
        let got: Vec<f32> = out
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect();
        assert_eq!(got, [1.0, 1.0 + 2f32.powi(-9), 1.0 + 2f32.powi(-10)]);
        // Too large for f16: infinity.
        let big = cast(&f32s(&[70000.0]), Dtype::F32, Dtype::F16);
        assert!(f16::from_le_bytes([big[0], big[1]]).is_infinite());
    }

    #[test]
    fn nan_and_infinities_are_kept_through_every_pair() {
        let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1.5];
        let f64s: Vec<u8> = specials.iter().flat_map(|v| v.to_le_bytes()).collect();
        for to in [Dtype::F32, Dtype::F16, Dtype::BF16] {
            let cast_down = cast(&f64s, Dtype::F64, to);
            let back = cast(&cast_down, to, Dtype::F64);
            let got: Vec<f64> = back
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert!(got[0].is_nan(), "{to}");
            assert_eq!(&got[1..3], &[f64::INFINITY, f64::NEG_INFINITY], "{to}");
            assert!(got[3] == 0.0 && got[3].is_sign_negative(), "{to}");
            assert_eq!(got[4], 1.5, "{to}");
        }
        // f64 to f32: one rounding (1 + 2^-24 + 2^-40 rounds up, not down as two steps might).
        let v = 1.0 + 2f64.powi(-24) + 2f64.powi(-40);
        let got = back_to_f32(&cast(&v.to_le_bytes(), Dtype::F64, Dtype::F32));
        assert_eq!(got, [1.0 + 2f32.powi(-23)]);
    }

    #[test]
    fn transposes_swap_rows_and_columns() {
        // [[1, 2, 3], [4, 5, 6]] as u16.
        let m: Vec<u8> = [1u16, 2, 3, 4, 5, 6]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let t = transpose(&m, 2, 3, 2);
        let got: Vec<u16> = t
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(got, [1, 4, 2, 5, 3, 6]);
        assert_eq!(transpose(&t, 3, 2, 2), m);
    }
}
