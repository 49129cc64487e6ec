//! Tensor bytes: aligned buffers, float casts (f64 / f32 / f16 / bf16, little-endian) and 2-D
//! transposes. A cast or a transpose reads the stored bytes a small part at a time into a
//! buffer that stays in cache, and writes the result once, straight into the tensor: a bf16
//! checkpoint loaded as f32 costs one buffer of the f32 size, and its bytes cross memory once.

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

/// Whether `from` is cast into `to`: both float types, and different.
pub(crate) fn casts(from: DType, to: DType) -> bool {
    from != to && is_castable(from) && is_castable(to)
}

/// Elements a thread of a read, a cast or a transpose takes at the least: below that,
/// starting it costs more than it saves.
const ELEMENTS_PER_THREAD: usize = 1 << 18;

/// How many threads share the work on `elements` elements: one per core, each with at least
/// [`ELEMENTS_PER_THREAD`].
pub(crate) fn threads_for(elements: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(elements / ELEMENTS_PER_THREAD)
        .max(1)
}

/// Stored bytes a cast reads at once, into a buffer that stays in cache.
const CHUNK_BYTES: usize = 64 << 10;

/// Reads `len` stored bytes of type `from` and returns them as `to` (as stored when either is
/// not a float type). `read(buf, start)` fills `buf` with the stored bytes from `start`: the
/// tensor itself when no cast is needed, else a chunk at a time that is cast into the tensor.
/// With `threads` above one, bands of the tensor are read (and cast) by that many threads at
/// once, each into its own part of the result.
pub(crate) fn read_as(
    from: DType,
    to: DType,
    len: usize,
    threads: usize,
    read: impl Fn(&mut [u8], usize) -> std::io::Result<()> + Sync,
) -> Result<Bytes, String> {
    let (sw, dw) = (from.size(), to.size());
    if !casts(from, to) {
        let mut buf = zeroed(len, sw);
        in_bands(&mut buf, sw, threads, |band, first| read(band, first * sw)).map_err(|e| e.to_string())?;
        return Ok(buf);
    }
    let mut out = zeroed(len / sw * dw, dw);
    in_bands(&mut out, dw, threads, |band, first| -> std::io::Result<()> {
        let per = (CHUNK_BYTES / sw).min(band.len() / dw);
        let mut chunk = vec![0u8; per * sw];
        for (i, dst) in band.chunks_mut(per * dw).enumerate() {
            let src = &mut chunk[..dst.len() / dw * sw];
            read(src, (first + i * per) * sw)?;
            cast_into(src, dst, from, to);
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// A reader (as [`read_as`] and [`transpose`] take) of bytes already in memory.
pub(crate) fn in_memory(src: &[u8]) -> impl Fn(&mut [u8], usize) -> std::io::Result<()> + Sync + '_ {
    |buf, start| {
        let part = src.get(start..start + buf.len()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "a read past the end of a tensor",
            )
        })?;
        buf.copy_from_slice(part);
        Ok(())
    }
}

/// Runs `f(band, first)` on `threads` consecutive bands of `buf` (whole elements of `width`
/// bytes; `first` is the index of a band's first element), each but the first on a thread of
/// its own; the first error wins.
fn in_bands<E: Send>(
    buf: &mut [u8],
    width: usize,
    threads: usize,
    f: impl Fn(&mut [u8], usize) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let per = (buf.len() / width).div_ceil(threads.max(1)).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let mut bands = buf.chunks_mut(per * width).enumerate();
        let first = bands.next();
        let others: Vec<_> = bands
            .map(|(i, band)| scope.spawn(move || f(band, i * per)))
            .collect();
        let mut result = first.map_or(Ok(()), |(_, band)| f(band, 0));
        for other in others {
            let done = other.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            result = result.and(done);
        }
        result
    })
}

/// `bytes` of type `from` as `to` (unchanged when either is not a float type).
pub(crate) fn convert(bytes: Bytes, from: DType, to: DType) -> Result<Bytes, String> {
    if !casts(from, to) {
        return Ok(bytes);
    }
    let dw = to.size();
    let mut out = zeroed(bytes.len() / from.size() * dw, dw);
    cast_into(&bytes, &mut out, from, to);
    Ok(out)
}

/// The elements of `src`, of type `from`, cast into `dst` as `to` (both float types).
fn cast_into(src: &[u8], dst: &mut [u8], from: DType, to: DType) {
    match (from, to) {
        (DType::BF16, DType::F32) => map(src, dst, bf16_to_f32),
        (DType::F16, DType::F32) => map(src, dst, f16_to_f32),
        (DType::F32, DType::BF16) => map(src, dst, f32_to_bf16),
        (DType::F32, DType::F16) => map(src, dst, f32_to_f16),
        _ => {
            for (s, d) in src.chunks_exact(from.size()).zip(dst.chunks_exact_mut(to.size())) {
                encode(to, decode(from, s), d);
            }
        }
    }
}

fn map<const S: usize, const D: usize>(src: &[u8], dst: &mut [u8], f: impl Fn([u8; S]) -> [u8; D]) {
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

/// The transpose of a stored `rows × cols` matrix of `dtype`, as `to`; `read(buf, start)`
/// fills `buf` with its stored bytes from `start`. Read in stripes of a few rows into a small
/// buffer that stays in cache, and transposed tile by tile from there, on every core for a
/// large matrix: no buffer of the whole stored matrix. bf16 / f16 into f32 (a half-precision
/// checkpoint's `Linear` weights) are cast in the same pass, other pairs cast first.
///
/// Not a transposed view (`swap_dims`, free on `flex`), which would skip this pass: a
/// non-contiguous weight is copied on every forward with a batched input (burn-backend's
/// `linear` reshapes the weight, flex's `reshape` of a non-contiguous tensor copies it), 2× to
/// 8× slower forwards as measured on flex 0.22, and every save would copy it too.
pub(crate) fn transpose(
    dtype: DType,
    rows: usize,
    cols: usize,
    to: DType,
    read: impl Fn(&mut [u8], usize) -> std::io::Result<()> + Sync,
) -> Result<Bytes, String> {
    let threads = threads_for(rows * cols);
    let done = match (dtype, to) {
        (DType::BF16, DType::F32) => transposed::<2, 4>(&read, rows, cols, threads, bf16_to_f32),
        (DType::F16, DType::F32) => transposed::<2, 4>(&read, rows, cols, threads, f16_to_f32),
        _ if !casts(dtype, to) => match dtype.size() {
            8 => transposed::<8, 8>(&read, rows, cols, threads, std::convert::identity),
            4 => transposed::<4, 4>(&read, rows, cols, threads, std::convert::identity),
            2 => transposed::<2, 2>(&read, rows, cols, threads, std::convert::identity),
            _ => transposed::<1, 1>(&read, rows, cols, threads, std::convert::identity),
        },
        _ => {
            // Other casts: the whole matrix cast first, then transposed.
            let cast = read_as(dtype, to, rows * cols * dtype.size(), threads, read)?;
            return transpose(to, rows, cols, to, in_memory(&cast));
        }
    };
    done.map_err(|e| e.to_string())
}

/// The transpose of the stored `rows × cols` elements of `S` bytes, each mapped by `f` into
/// `D` bytes. The output's rows (the input's columns) are split into `threads` bands, each
/// transposed by its own thread.
fn transposed<const S: usize, const D: usize>(
    read: &(impl Fn(&mut [u8], usize) -> std::io::Result<()> + Sync),
    rows: usize,
    cols: usize,
    threads: usize,
    f: impl Fn([u8; S]) -> [u8; D] + Sync,
) -> std::io::Result<Bytes> {
    let mut out = zeroed(rows * cols * D, D);
    if rows > 0 {
        // An output row is one "element" of a band: the bands split the input's columns.
        in_bands(&mut out, rows * D, threads, |band, from| {
            tiles_map(read, band, rows, cols, from, &f)
        })?;
    }
    Ok(out)
}

/// Rows of the stored matrix read at once: a stripe.
const TILE: usize = 32;

/// Columns `from..` of the stored `rows × cols` matrix, transposed into `dst` (as many as it
/// holds rows of `rows` elements), each element mapped by `f`. Stripe by stripe of [`TILE`]
/// rows, and in a stripe tile by tile: a tile is mapped into a small transposed copy on the
/// stack, which is then written out row after row, so that both the reads and the writes run
/// along memory (three times faster than scattering each element to its place).
fn tiles_map<const S: usize, const D: usize>(
    read: &impl Fn(&mut [u8], usize) -> std::io::Result<()>,
    dst: &mut [u8],
    rows: usize,
    cols: usize,
    from: usize,
    f: impl Fn([u8; S]) -> [u8; D],
) -> std::io::Result<()> {
    let mut tile = [[[0u8; D]; TILE]; TILE];
    let mut stripe = vec![0u8; TILE * cols * S];
    let to = from + dst.len() / (rows * D);
    for r0 in (0..rows).step_by(TILE) {
        let r1 = (r0 + TILE).min(rows);
        let stripe = &mut stripe[..(r1 - r0) * cols * S];
        read(stripe, r0 * cols * S)?;
        for c0 in (from..to).step_by(TILE) {
            let c1 = (c0 + TILE).min(to);
            for (r, row) in stripe.chunks_exact(cols * S).enumerate() {
                for (k, s) in row[c0 * S..c1 * S].chunks_exact(S).enumerate() {
                    tile[k][r] = f(s.try_into().expect("S bytes"));
                }
            }
            for c in c0..c1 {
                let at = (c - from) * rows;
                let out = &mut dst[(at + r0) * D..(at + r1) * D];
                for (o, v) in out.chunks_exact_mut(D).zip(&tile[c - c0]) {
                    o.copy_from_slice(v);
                }
            }
        }
    }
    Ok(())
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
    fn every_float_pair_casts_in_the_read() {
        let values = [0.0, 1.0, -2.5, 0.15625, 65504.0, -1e-3];
        let all = [DType::F64, DType::F32, DType::F16, DType::BF16];
        for from in all {
            for to in all {
                let stored = bytes_of(from, &values);
                let expected: Vec<f64> = values
                    .iter()
                    .map(|v| decode(to, &bytes_of(to, &[decode(from, &bytes_of(from, &[*v]))])))
                    .collect();
                let got = read_as(from, to, stored.len(), 1, in_memory(&stored)).unwrap();
                assert_eq!(got.len(), values.len() * to.size(), "{from:?} -> {to:?}");
                let back: Vec<f64> = got.chunks_exact(to.size()).map(|c| decode(to, c)).collect();
                assert_eq!(back, expected, "{from:?} -> {to:?}");
                assert_eq!(got.as_ptr() as usize % to.size(), 0, "aligned");
            }
        }
        // Integers are never cast.
        let ints = read_as(DType::I64, DType::F32, 16, 1, |buf, _| {
            buf.copy_from_slice(&[1u8; 16]);
            Ok(())
        })
        .unwrap();
        assert_eq!(&ints[..], &[1u8; 16]);
    }

    #[test]
    fn reads_in_bands_equal_a_read_in_one() {
        // Several chunks of a cast per band.
        let values: Vec<f64> = (0..70_001).map(|i| f64::from(i % 300) - 150.0).collect();
        for (from, to) in [
            (DType::BF16, DType::F32),
            (DType::F32, DType::F32),
            (DType::F32, DType::F16),
        ] {
            let stored = bytes_of(from, &values);
            let one = read_as(from, to, stored.len(), 1, in_memory(&stored)).unwrap();
            let back: Vec<f64> = one.chunks_exact(to.size()).map(|c| decode(to, c)).collect();
            assert_eq!(back, values, "{from:?} -> {to:?}: every value, exactly");
            for threads in [2, 3, 7] {
                let banded = read_as(from, to, stored.len(), threads, in_memory(&stored)).unwrap();
                assert_eq!(&banded[..], &one[..], "{from:?} -> {to:?} in {threads} bands");
            }
        }
        let failing = read_as(DType::BF16, DType::F32, 64, 3, |_, at| {
            if at > 0 {
                Err(std::io::Error::other("short file"))
            } else {
                Ok(())
            }
        });
        assert_eq!(failing.unwrap_err(), "short file");
    }

    #[test]
    fn transposes_in_bands_equal_one() {
        let (rows, cols) = (37, 101);
        let src = bytes_of(
            DType::BF16,
            &(0..rows * cols).map(|i| (i % 256) as f64).collect::<Vec<_>>(),
        );
        let read = in_memory(&src);
        let one = transposed::<2, 4>(&read, rows, cols, 1, bf16_to_f32).unwrap();
        for threads in [2, 3, 200] {
            let banded = transposed::<2, 4>(&read, rows, cols, threads, bf16_to_f32).unwrap();
            assert_eq!(&banded[..], &one[..], "{threads} bands");
        }
    }

    #[test]
    fn transposes_of_every_width_and_ragged_tiles() {
        for (rows, cols) in [(1, 1), (3, 70), (65, 33)] {
            let values: Vec<f64> = (0..rows * cols).map(|i| (i % 256) as f64).collect();
            // Cast in the same pass (bf16), cast first (f64), not cast (f32).
            for (from, to) in [
                (DType::BF16, DType::F32),
                (DType::F64, DType::F32),
                (DType::F32, DType::F32),
            ] {
                let src = bytes_of(from, &values);
                let t = transpose(from, rows, cols, to, in_memory(&src)).unwrap();
                for r in 0..rows {
                    for c in 0..cols {
                        assert_eq!(
                            decode(to, &t[(c * rows + r) * 4..][..4]),
                            values[r * cols + c],
                            "{from:?} -> {to:?}"
                        );
                    }
                }
            }
            let u8s: Vec<u8> = (0..rows * cols).map(|i| i as u8).collect();
            // Not a float: transposed, never cast.
            let t = transpose(DType::U8, rows, cols, DType::F32, in_memory(&u8s)).unwrap();
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(t[c * rows + r], u8s[r * cols + c]);
                }
            }
        }
    }
}
