//! Runs independent jobs on a few threads (hashing files, uploading parts).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::error::HubError;

/// Applies `f` to every item on up to `workers` scoped threads and returns the results in item
/// order. After the first error no new item starts; that error is returned.
pub(crate) fn try_map<T, R, F>(items: &[T], workers: usize, f: F) -> Result<Vec<R>, HubError>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> Result<R, HubError> + Sync,
{
    let workers = workers.clamp(1, items.len().max(1));
    if workers == 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    let first_error: Mutex<Option<HubError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    match f(item) {
                        Ok(r) => results.lock().expect("no panics while locked")[i] = Some(r),
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error
                                .lock()
                                .expect("no panics while locked")
                                .get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().expect("no panics while locked") {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .expect("no panics while locked")
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_stops_at_the_first_error() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            try_map(&items, 4, |i| Ok(i * 2)).unwrap(),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        let ran = AtomicUsize::new(0);
        let err = try_map(&items, 3, |i| {
            ran.fetch_add(1, Ordering::Relaxed);
            if *i == 0 {
                Err(HubError::InvalidArgument {
                    name: "item".into(),
                    reason: "zero".into(),
                })
            } else {
                // Slow items: the first one fails long before the others could all have run.
                std::thread::sleep(std::time::Duration::from_millis(20));
                Ok(())
            }
        })
        .unwrap_err();
        assert!(matches!(err, HubError::InvalidArgument { .. }));
        assert!(
            ran.load(Ordering::Relaxed) < 100,
            "no new items start after an error"
        );
        assert!(try_map(&[] as &[u32], 8, |_| Ok(())).unwrap().is_empty());
    }
}
