//! Tensor bytes: aligned buffers, float casts (f64 / f32 / f16 / bf16, little-endian) and 2-D
//! transposes. A widening cast reads the stored bytes into the upper part of the wider buffer
//! and expands them in place, front to back, so a bf16 checkpoint loaded as f32 costs one
//! buffer of the f32 size, not two.

use burn::tensor::{Bytes, DType};
use half::{bf16, f16};

/// `len` zero bytes in a buffer aligned for elements of `width` bytes, which the tensor then
/// owns as it is: one read fills it, and nothing copies it afterwards.
///
/// (`Bytes::from_bytes_vec` of a `Vec<u8>` would copy the whole tensor once more into a 16-byte
/// aligned buffer, because it goes by the alignment the vector was allocated with, 1: for a
/// 200 MB model that copy was half of a load's time, 0.13 s, and 64 MB of its peak memory.) The
/// zeroes cost nothing: a large zeroed allocation is fresh pages from the kernel.
pub(crate) fn zeroed(len: usize, width: usize) -> Bytes {
    match width {
        8 if len.is_multiple_of(8) => Bytes::from_elems(vec![0u64; len / 8]),
        4 if len.is_multiple_of(4) => Bytes::from_elems(vec![0u32; len / 4]),
        2 if len.is_multiple_of(2) => Bytes::from_elems(vec![0u16; len / 2]),
        _ => Bytes::from_elems(vec![0u8; len]),
    }
}

fn is_castable(dtype: DType) -> bool {
    matches!(dtype, DType::F64 | DType::F32 | DType::F16 | DType::BF16)
}

/// Reads `len` stored bytes of type `from` with `read` and returns them as `to` (as stored
/// when either is not a float type).
pub(crate) fn read_as(
    from: DType,
    to: DType,
    len: usize,
    read: impl FnOnce(&mut [u8]) -> std::io::Result<()>,
) -> Result<Bytes, String> {
    let (sw, dw) = (from.size(), to.size());
    if from == to || !is_castable(from) || !is_castable(to) {
        let mut buf = zeroed(len, sw);
        read(&mut buf).map_err(|e| e.to_string())?;
        return Ok(buf);
    }
    let n = len / sw;
    if dw > sw {
        let mut buf = zeroed(n * dw, dw);
        let off = n * dw - len;
        read(&mut buf[off..]).map_err(|e| e.to_string())?;
        widen_in_place(&mut buf, n, from, to);
        return Ok(buf);
    }
    let mut buf = zeroed(len, sw);
    read(&mut buf).map_err(|e| e.to_string())?;
    convert(buf, from, to)
}

/// `bytes` of type `from` as `to` (unchanged when either is not a float type).
pub(crate) fn convert(bytes: Bytes, from: DType, to: DType) -> Result<Bytes, String> {
    if from == to || !is_castable(from) || !is_castable(to) {
        return Ok(bytes);
    }
    let (sw, dw) = (from.size(), to.size());
    let n = bytes.len() / sw;
    let mut out = zeroed(n * dw, dw);
    match (from, to) {
        (DType::BF16, DType::F32) => map(&bytes, &mut out, bf16_to_f32),
        (DType::F16, DType::F32) => map(&bytes, &mut out, f16_to_f32),
        (DType::F32, DType::BF16) => map(&bytes, &mut out, f32_to_bf16),
        (DType::F32, DType::F16) => map(&bytes, &mut out, f32_to_f16),
        _ => {
            for i in 0..n {
                encode(to, decode(from, &bytes[i * sw..][..sw]), &mut out[i * dw..][..dw]);
            }
        }
    }
    Ok(out)
}

/// Expands `n` elements of `from` stored at the end of `buf` into `to` from its start. Each
/// write ends before the first element not read yet begins, so nothing is overwritten early.
fn widen_in_place(buf: &mut [u8], n: usize, from: DType, to: DType) {
    let (sw, dw) = (from.size(), to.size());
    let off = n * dw - n * sw;
    match (from, to) {
        (DType::BF16, DType::F32) => widen::<2, 4>(buf, n, off, bf16_to_f32),
        (DType::F16, DType::F32) => widen::<2, 4>(buf, n, off, f16_to_f32),
        _ => {
            for i in 0..n {
                let v = decode(from, &buf[off + i * sw..][..sw]);
                encode(to, v, &mut buf[i * dw..][..dw]);
            }
        }
    }
}

fn widen<const S: usize, const D: usize>(buf: &mut [u8], n: usize, off: usize, f: fn([u8; S]) -> [u8; D]) {
    for i in 0..n {
        let s: [u8; S] = buf[off + i * S..][..S].try_into().expect("S bytes");
        buf[i * D..][..D].copy_from_slice(&f(s));
    }
}

fn map<const S: usize, const D: usize>(src: &[u8], dst: &mut [u8], f: fn([u8; S]) -> [u8; D]) {
    for (s, d) in src.chunks_exact(S).zip(dst.chunks_exact_mut(D)) {
        d.copy_from_slice(&f(s.try_into().expect("S bytes")));
    }
}

fn bf16_to_f32(b: [u8; 2]) -> [u8; 4] {
    [0, 0, b[0], b[1]]
}

fn f16_to_f32(b: [u8; 2]) -> [u8; 4] {
    f16::from_le_bytes(b).to_f32().to_le_bytes()
}

fn f32_to_bf16(b: [u8; 4]) -> [u8; 2] {
    bf16::from_f32(f32::from_le_bytes(b)).to_le_bytes()
}

fn f32_to_f16(b: [u8; 4]) -> [u8; 2] {
    f16::from_f32(f32::from_le_bytes(b)).to_le_bytes()
}

fn decode(dtype: DType, b: &[u8]) -> f64 {
    match dtype {
        DType::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
        DType::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")).into(),
        DType::F16 => f16::from_le_bytes(b.try_into().expect("2 bytes")).to_f64(),
        _ => bf16::from_le_bytes(b.try_into().expect("2 bytes")).to_f64(),
    }
}

fn encode(dtype: DType, v: f64, out: &mut [u8]) {
    match dtype {
        DType::F64 => out.copy_from_slice(&v.to_le_bytes()),
        DType::F32 => out.copy_from_slice(&(v as f32).to_le_bytes()),
        DType::F16 => out.copy_from_slice(&f16::from_f64(v).to_le_bytes()),
        _ => out.copy_from_slice(&bf16::from_f64(v).to_le_bytes()),
    }
}

/// The transpose of a `rows × cols` matrix of `dtype`, as `to`, tile by tile: bf16 / f16 into
/// f32 (a half-precision checkpoint's `Linear` weights) cast in the same pass, other pairs
/// cast first.
pub(crate) fn transpose(
    src: &[u8],
    dtype: DType,
    rows: usize,
    cols: usize,
    to: DType,
) -> Result<Bytes, String> {
    // bf16 / f16 into f32, the common case of a half-precision checkpoint: cast while
    // transposing, one pass, no intermediate buffers.
    let widen: Option<fn([u8; 2]) -> [u8; 4]> = match (dtype, to) {
        (DType::BF16, DType::F32) => Some(bf16_to_f32),
        (DType::F16, DType::F32) => Some(f16_to_f32),
        _ => None,
    };
    if let Some(f) = widen {
        let mut out = zeroed(rows * cols * 4, 4);
        tiles_map::<2, 4>(src, &mut out, rows, cols, f);
        return Ok(out);
    }
    // Other pairs: cast first (not at all when the types agree or are not floats).
    let target = if is_castable(dtype) && is_castable(to) {
        to
    } else {
        dtype
    };
    let cast;
    let src = if target == dtype {
        src
    } else {
        let mut copy = zeroed(src.len(), dtype.size());
        copy.copy_from_slice(src);
        cast = convert(copy, dtype, to)?;
        &cast[..]
    };
    let w = target.size();
    let mut out = zeroed(rows * cols * w, w);
    match w {
        8 => tiles_map::<8, 8>(src, &mut out, rows, cols, std::convert::identity),
        4 => tiles_map::<4, 4>(src, &mut out, rows, cols, std::convert::identity),
        2 => tiles_map::<2, 2>(src, &mut out, rows, cols, std::convert::identity),
        _ => tiles_map::<1, 1>(src, &mut out, rows, cols, std::convert::identity),
    }
    Ok(out)
}

/// The transpose of `src` into `dst`, each element mapped by `f`; row by row inside square
/// tiles, so that both sides stay in cache.
fn tiles_map<const S: usize, const D: usize>(
    src: &[u8],
    dst: &mut [u8],
    rows: usize,
    cols: usize,
    f: fn([u8; S]) -> [u8; D],
) {
    const TILE: usize = 64;
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            let c1 = (c0 + TILE).min(cols);
            for r in r0..(r0 + TILE).min(rows) {
                let row = &src[(r * cols + c0) * S..(r * cols + c1) * S];
                for (k, s) in row.chunks_exact(S).enumerate() {
                    let d = ((c0 + k) * rows + r) * D;
                    dst[d..d + D].copy_from_slice(&f(s.try_into().expect("S bytes")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of(dtype: DType, values: &[f64]) -> Vec<u8> {
        let w = dtype.size();
        let mut out = vec![0u8; values.len() * w];
        for (i, v) in values.iter().enumerate() {
            encode(dtype, *v, &mut out[i * w..][..w]);
        }
        out
    }

    #[test]
    fn every_float_pair_casts_and_widening_reads_in_place() {
        let values = [0.0, 1.0, -2.5, 0.15625, 65504.0, -1e-3];
        let all = [DType::F64, DType::F32, DType::F16, DType::BF16];
        for from in all {
            for to in all {
                let stored = bytes_of(from, &values);
                let expected: Vec<f64> = values
                    .iter()
                    .map(|v| decode(to, &bytes_of(to, &[decode(from, &bytes_of(from, &[*v]))])))
                    .collect();
                let got = read_as(from, to, stored.len(), |buf| {
                    buf.copy_from_slice(&stored);
                    Ok(())
                })
                .unwrap();
                assert_eq!(got.len(), values.len() * to.size(), "{from:?} -> {to:?}");
                let back: Vec<f64> = got.chunks_exact(to.size()).map(|c| decode(to, c)).collect();
                assert_eq!(back, expected, "{from:?} -> {to:?}");
                assert_eq!(got.as_ptr() as usize % to.size(), 0, "aligned");
            }
        }
        // Integers are never cast.
        let ints = read_as(DType::I64, DType::F32, 16, |buf| {
            buf.copy_from_slice(&[1u8; 16]);
            Ok(())
        })
        .unwrap();
        assert_eq!(&ints[..], &[1u8; 16]);
    }

    #[test]
    fn transposes_of_every_width_and_ragged_tiles() {
        for (rows, cols) in [(1, 1), (3, 70), (65, 33)] {
            let values: Vec<f64> = (0..rows * cols).map(|i| (i % 256) as f64).collect();
            let src = bytes_of(DType::BF16, &values);
            let t = transpose(&src, DType::BF16, rows, cols, DType::F32).unwrap();
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        decode(DType::F32, &t[(c * rows + r) * 4..][..4]),
                        values[r * cols + c]
                    );
                }
            }
            let u8s: Vec<u8> = (0..rows * cols).map(|i| i as u8).collect();
            // Not a float: transposed, never cast.
            let t = transpose(&u8s, DType::U8, rows, cols, DType::F32).unwrap();
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(t[c * rows + r], u8s[r * cols + c]);
                }
            }
        }
    }
}
