//! The snapshot log file: reopen, torn appends, compaction, locking, refusals.

use super::*;

fn put<'a>(k: &'a str, v: &'a [u8]) -> (&'a str, Option<&'a [u8]>) {
    (k, Some(v))
}

fn all(log: &LogFile) -> Vec<(String, Vec<u8>)> {
    log.read_all().unwrap()
}

#[test]
fn appended_batches_survive_reopen_latest_value_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    {
        let mut log = LogFile::open(&path).unwrap();
        log.append([put("b", b"1"), put("a", b"2")]).unwrap();
        log.append([put("b", b"3"), ("a", None)]).unwrap();
        log.append([]).unwrap();
        assert_eq!(all(&log), [("b".to_string(), b"3".to_vec())]);
    }
    let log = LogFile::open(&path).unwrap();
    assert_eq!(all(&log), [("b".to_string(), b"3".to_vec())]);
    assert_eq!(log.live_bytes, entry_size("b", 1));
}

/// A crash in the middle of an append: the torn batch is cut off at the next open and appends
/// go on from the last whole one.
#[test]
fn a_torn_append_is_cut_off_and_the_log_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let mut log = LogFile::open(&path).unwrap();
    log.append([put("a", b"kept")]).unwrap();
    let whole = log.len;
    log.append([put("a", b"torn"), put("b", b"torn")]).unwrap();
    drop(log);
    let file = OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(whole + 9).unwrap();
    drop(file);
    let mut log = LogFile::open(&path).unwrap();
    assert_eq!(all(&log), [("a".to_string(), b"kept".to_vec())]);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), whole, "cut at the last whole frame");
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".cut-"))
        .collect();
    assert_eq!(kept.len(), 1, "what was cut is kept beside the log");
    assert_eq!(std::fs::read(&kept[0]).unwrap().len(), 9);
    log.append([put("c", b"next")]).unwrap();
    drop(log);
    assert_eq!(all(&LogFile::open(&path).unwrap()).len(), 2);
}

#[test]
fn compaction_keeps_the_live_values_and_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let mut log = LogFile::open(&path).unwrap();
    log.compact_min = 8 * 1024 * 1024;
    let value = vec![b'x'; 100_000];
    // 200 rewrites of 10 keys (20 MB): past the threshold, compacted on the way.
    for round in 0..200u32 {
        let v = [value.as_slice(), &round.to_le_bytes()].concat();
        let keys: Vec<String> = (0..10).map(|k| format!("call:{k}")).collect();
        log.append(keys.iter().map(|k| (k.as_str(), Some(v.as_slice())))).unwrap();
    }
    log.append([("call:9", None)]).unwrap();
    assert!(log.compactions >= 1, "compacted");
    assert!(log.len < log.compact_min + 2_000_000, "file {} bytes", log.len);
    let want: Vec<(String, Vec<u8>)> =
        (0..9).map(|k| (format!("call:{k}"), [value.as_slice(), &199u32.to_le_bytes()].concat())).collect();
    assert_eq!(all(&log), want);
    drop(log);
    assert_eq!(all(&LogFile::open(&path).unwrap()), want, "the compacted file reopens");
    assert!(!compacting_path(&path).exists());
}

/// A compaction that crashed before its rename leaves the old log in force and a partial file
/// that the next open removes.
#[test]
fn an_unfinished_compaction_is_ignored_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let mut log = LogFile::open(&path).unwrap();
    log.append([put("a", b"1")]).unwrap();
    drop(log);
    std::fs::write(compacting_path(&path), b"SFBSNAPLOG\x00\x01partial").unwrap();
    let log = LogFile::open(&path).unwrap();
    assert_eq!(all(&log), [("a".to_string(), b"1".to_vec())]);
    assert!(!compacting_path(&path).exists());
}

/// A crash while the log was being created leaves no header or part of it: that is an
/// empty log, not a foreign file.
#[test]
fn a_log_whose_creation_did_not_finish_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    for partial in [&b""[..], &HEADER[..5]] {
        std::fs::write(&path, partial).unwrap();
        let mut log = LogFile::open(&path).unwrap();
        log.append([put("a", b"1")]).unwrap();
        drop(log);
        assert_eq!(all(&LogFile::open(&path).unwrap()), [("a".to_string(), b"1".to_vec())]);
    }
}

/// A second writer on the same log (another process on the same data directory, or a store
/// opened twice) is refused while the first has it open.
#[test]
fn a_log_is_opened_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let first = LogFile::open(&path).unwrap();
    let err = LogFile::open(&path).err().expect("second open refused");
    assert!(err.to_string().contains("in use"), "{err}");
    drop(first);
    LogFile::open(&path).unwrap();
}

/// A snapshot the format cannot hold is refused alone: the rest of its batch is stored.
#[test]
fn an_entry_too_large_is_refused_alone() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = LogFile::open(&dir.path().join("s.log")).unwrap();
    let long_key = "k".repeat(70_000);
    log.append([(long_key.as_str(), Some(&b"x"[..])), put("a", b"1")]).unwrap();
    assert_eq!(all(&log), [("a".to_string(), b"1".to_vec())]);
}

#[test]
fn a_file_that_is_not_a_snapshot_log_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    std::fs::write(&path, b"redb\x1a\x0a\xa9\x0d\x0a0000000000").unwrap();
    let err = LogFile::open(&path).err().expect("refused");
    assert!(err.to_string().contains("not a snapshot log"), "{err}");
}

/// A write that fails (here: the file handle cannot write) is not acknowledged and changes
/// nothing: the index and the end stay where they were, and the retry of the same batch lands.
#[test]
fn a_failed_append_changes_nothing_and_its_retry_lands() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.log");
    let mut log = LogFile::open(&path).unwrap();
    log.append([put("a", b"1")]).unwrap();
    let (len, live) = (log.len, log.live_bytes);
    let writable = std::mem::replace(&mut log.file, File::open(&path).unwrap());
    assert!(log.append([put("a", b"2"), put("b", b"3")]).is_err());
    assert_eq!((log.len, log.live_bytes), (len, live));
    assert_eq!(all(&log), [("a".to_string(), b"1".to_vec())]);
    log.file = writable;
    log.append([put("a", b"2"), put("b", b"3")]).unwrap();
    drop(log);
    let want = [("a".to_string(), b"2".to_vec()), ("b".to_string(), b"3".to_vec())];
    assert_eq!(all(&LogFile::open(&path).unwrap()), want);
}
