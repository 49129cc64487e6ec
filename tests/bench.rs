//! What the benchmark programs (`hubmix/benches/*.rs`) share: knobs from the environment, the
//! machine's load, CPU times, medians, verdicts, and running one measurement in a child process.

/// The positive number in the environment variable `name`, or `default` when it is unset.
///
/// # Panics
/// When the variable is set to anything but a positive number: a benchmark should not run with a
/// knob it misread.
pub fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v:?} is not a positive number")),
        Err(_) => default,
    }
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), or `unknown`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The sum of fields `field` and `field + 1` (1-based, as `man proc` numbers them) of a
/// `/proc/.../stat` file, as seconds: CPU ticks, in the kernel's fixed 100 per second. Fields 14
/// and 15 are a process's own user and system time (all its threads), 16 and 17 its waited-for
/// children's.
///
/// # Panics
/// When the file cannot be read or is not a `stat` file.
pub fn cpu_seconds(stat: &str, field: usize) -> f64 {
    let text = std::fs::read_to_string(stat).unwrap_or_else(|e| panic!("read {stat}: {e}"));
    // After the command name, which may hold spaces: field 3 (state) comes first.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[field - 3..field - 1]
        .iter()
        .map(|f| f.parse::<u64>().expect("ticks"))
        .sum();
    ticks as f64 / 100.0
}

/// The median of `field` over `samples` (the upper one of an even count).
///
/// # Panics
/// When `samples` is empty.
pub fn median<T>(samples: &[T], field: impl Fn(&T) -> f64) -> f64 {
    let mut values: Vec<f64> = samples.iter().map(field).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// `PASS` or `FAIL`.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// Writes `size` bytes of incompressible pseudo-random data (xorshift) to `path`.
///
/// # Panics
/// When the file cannot be written.
pub fn write_random(path: &std::path::Path, size: u64) {
    use std::io::Write;
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ size;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n]).expect("write random bytes");
        left -= n as u64;
    }
    out.flush().expect("write random bytes");
}

/// Flushes dirty pages (`sync`), so that one measurement's write-back does not slow the next.
///
/// # Panics
/// When `sync` cannot run.
pub fn sync() {
    let status = std::process::Command::new("sync").status().expect("sync runs");
    assert!(status.success(), "sync failed");
}

/// Runs this benchmark program again as `--measure ARGS...` (one measurement in a process of its
/// own, so that its peak RSS is its alone), without the caller's Hub token or offline setting,
/// and returns what it printed.
///
/// # Panics
/// When the child cannot run or fails (with its standard error).
pub fn measure_in_child(args: &[String]) -> String {
    let output = std::process::Command::new(std::env::current_exe().expect("this program"))
        .arg("--measure")
        .args(args)
        .env_remove("HF_TOKEN")
        .env_remove("HF_HUB_OFFLINE")
        .env("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        .output()
        .expect("run the measurement");
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_verdicts() {
        assert_eq!(median(&[3.0, 1.0, 2.0], |v| *v), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0], |v| *v), 3.0);
        assert_eq!(verdict(true), "PASS");
        assert_eq!(verdict(false), "FAIL");
        assert_eq!(env_number("HUBMIX_BENCH_SURELY_UNSET_KNOB", 7), 7);
        assert!(cpu_seconds("/proc/self/stat", 14) >= 0.0);
    }

    #[test]
    fn random_files_have_their_size_and_differ() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        write_random(&a, (1 << 20) + 5);
        write_random(&b, 1000);
        let a = std::fs::read(a).unwrap();
        let b = std::fs::read(b).unwrap();
        assert_eq!((a.len(), b.len()), ((1 << 20) + 5, 1000));
        assert_ne!(a[..1000], b[..]);
        assert!(a.iter().any(|&x| x != a[0]));
    }
}
