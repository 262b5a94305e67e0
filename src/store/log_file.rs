//! The snapshot log on disk (format in `log.rs`): batches are appended and made durable with one
//! `fdatasync`; an index in memory says where each key's latest value is; when the file holds
//! mostly superseded values it is rewritten with the live ones (compaction). Why not a B-tree:
//! this store is written hundreds of times a second and read once, at start-up. redb's
//! copy-on-write inserts and commits were a quarter of the T-Server's CPU in the vendor profile
//! (perf, 1,000 agents and 1,200 calls); appending costs a write and the fsync.
//!
//! Crash safety: an append that did not finish is a torn last frame, cut off at the next open (its
//! batch was never acknowledged). A compaction writes a new file beside the log, syncs it and
//! renames it over the log; a crash before the rename leaves the old log, and the unfinished file
//! is removed at the next open.

use super::log::{self, Entry, HEADER};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Compaction waits until the log is this large (disk is cheap; every compaction copies the live
/// set: at 8 MiB it was an eighth of the writer's time with 1,200 calls)...
const COMPACT_MIN_BYTES: u64 = 64 * 1024 * 1024;
/// ... and this many times the live values: each compaction then copies the live set once per
/// (ratio - 1) x live bytes appended, and the file stays within ratio x the live state.
const COMPACT_RATIO: u64 = 4;
/// Live values are copied in frames of about this size.
const COMPACT_CHUNK: usize = 4 * 1024 * 1024;

/// Where a key's latest value is in the file.
#[derive(Clone, Copy, Debug)]
struct Loc {
    at: u64,
    len: u32,
}

pub struct LogFile {
    path: PathBuf,
    file: File,
    /// End of the last whole frame: the next append goes here.
    len: u64,
    index: HashMap<String, Loc>,
    /// What the live entries take in a compacted log (entry headers, keys, values).
    live_bytes: u64,
    pub compactions: u64,
    /// [`COMPACT_MIN_BYTES`] (tests lower it).
    compact_min: u64,
}

fn entry_size(key: &str, len: u32) -> u64 {
    7 + key.len() as u64 + len as u64
}

impl LogFile {
    /// Opens the log, creating it if there is none; a torn last frame is cut off (with a warning).
    pub fn open(path: &Path) -> io::Result<LogFile> {
        let _ = std::fs::remove_file(compacting_path(path));
        let bytes = match std::fs::read(path) {
            // A log whose creation did not finish (no whole header yet) holds nothing: start it again.
            Ok(b) if b.len() < HEADER.len() && HEADER.starts_with(&b) => return LogFile::create(path),
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return LogFile::create(path),
            Err(e) => return Err(e),
        };
        let scan = log::scan(&bytes).map_err(io::Error::other)?;
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let mut log = LogFile::empty(path, file);
        log.apply(&scan.entries, 0);
        log.len = scan.valid_len as u64;
        if scan.valid_len < bytes.len() {
            let cut = bytes.len() - scan.valid_len;
            tracing::warn!(path = %path.display(), cut, "snapshot log: an unfinished last write was cut off");
            log.file.set_len(log.len)?;
            log.file.sync_all()?;
        }
        Ok(log)
    }

    fn create(path: &Path) -> io::Result<LogFile> {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        file.write_all(HEADER)?;
        file.sync_all()?;
        sync_dir(path)?;
        Ok(LogFile::empty(path, file))
    }

    fn empty(path: &Path, file: File) -> LogFile {
        let len = HEADER.len() as u64;
        let compact_min = COMPACT_MIN_BYTES;
        LogFile {
            path: path.to_path_buf(),
            file,
            len,
            index: HashMap::new(),
            live_bytes: 0,
            compactions: 0,
            compact_min,
        }
    }

    /// Records entries whose value positions are relative to file offset `base`.
    fn apply(&mut self, entries: &[Entry<'_>], base: u64) {
        for e in entries {
            let (key, loc) = match e {
                Entry::Put { key, value } => {
                    (*key, Some(Loc { at: base + value.start as u64, len: (value.end - value.start) as u32 }))
                }
                Entry::Remove { key } => (*key, None),
            };
            let old = match loc {
                Some(loc) => {
                    self.live_bytes += entry_size(key, loc.len);
                    self.index.insert(key.to_string(), loc)
                }
                None => self.index.remove(key),
            };
            if let Some(old) = old {
                self.live_bytes -= entry_size(key, old.len);
            }
        }
    }

    /// Appends one batch and waits for it to be on disk. On failure the file is cut back to where
    /// it was (best effort; a leftover frame would only repeat values the retry writes again).
    pub fn append<'a>(&mut self, batch: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>) -> io::Result<()> {
        let mut buf = Vec::new();
        log::encode_batch(&mut buf, batch).map_err(io::Error::other)?;
        if buf.is_empty() {
            return Ok(());
        }
        let written = self.file.write_all_at(&buf, self.len).and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        let scan = log::frames(&buf, 0);
        let base = self.len;
        self.apply(&scan.entries, base);
        self.len += buf.len() as u64;
        if self.len > self.compact_min && self.len > COMPACT_RATIO * (self.live_bytes + HEADER.len() as u64) {
            if let Err(error) = self.compact() {
                // The log as it is stays valid: only its size suffers until a later try works.
                tracing::warn!(path = %self.path.display(), %error, "snapshot log: compaction failed");
            }
        }
        Ok(())
    }

    /// Every live key and its value, in key order.
    pub fn read_all(&self) -> io::Result<Vec<(String, Vec<u8>)>> {
        let mut keys: Vec<(&String, Loc)> = self.index.iter().map(|(k, l)| (k, *l)).collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        keys.into_iter().map(|(k, loc)| Ok((k.clone(), self.read(loc)?))).collect()
    }

    fn read(&self, loc: Loc) -> io::Result<Vec<u8>> {
        let mut value = vec![0; loc.len as usize];
        self.file.read_exact_at(&mut value, loc.at)?;
        Ok(value)
    }

    /// Rewrites the log with only the live values (in file order, so the old file is read
    /// forwards) and renames it over the old one.
    pub fn compact(&mut self) -> io::Result<()> {
        let tmp = compacting_path(&self.path);
        let mut out = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&tmp)?;
        let copied = self.copy_live(&mut out).and_then(|done| out.sync_all().map(|()| done));
        let renamed = copied.and_then(|done| std::fs::rename(&tmp, &self.path).map(|()| done));
        let (len, index) = match renamed {
            Ok(done) => done,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        // From here the path names the new file: appends must go there whatever follows.
        self.file = out;
        self.len = len;
        self.index = index;
        self.compactions += 1;
        sync_dir(&self.path)
    }

    fn copy_live(&self, out: &mut File) -> io::Result<(u64, HashMap<String, Loc>)> {
        let mut live: Vec<(&String, Loc)> = self.index.iter().map(|(k, l)| (k, *l)).collect();
        live.sort_by_key(|(_, l)| l.at);
        out.write_all_at(HEADER, 0)?;
        let mut len = HEADER.len() as u64;
        let mut index = HashMap::with_capacity(live.len());
        for chunk in chunks(&live) {
            let values: Vec<Vec<u8>> = chunk.iter().map(|(_, loc)| self.read(*loc)).collect::<io::Result<_>>()?;
            let mut buf = Vec::with_capacity(COMPACT_CHUNK + 1024);
            let entries = chunk.iter().zip(&values).map(|((k, _), v)| (k.as_str(), Some(v.as_slice())));
            log::encode_batch(&mut buf, entries).map_err(io::Error::other)?;
            out.write_all_at(&buf, len)?;
            for e in log::frames(&buf, 0).entries {
                if let Entry::Put { key, value } = e {
                    let loc = Loc { at: len + value.start as u64, len: (value.end - value.start) as u32 };
                    index.insert(key.to_string(), loc);
                }
            }
            len += buf.len() as u64;
        }
        Ok((len, index))
    }
}

/// Consecutive runs of entries holding about [`COMPACT_CHUNK`] bytes of values.
fn chunks<'a>(live: &'a [(&'a String, Loc)]) -> impl Iterator<Item = &'a [(&'a String, Loc)]> {
    let mut rest = live;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0usize;
        let n = rest.iter().take_while(|(_, l)| {
            bytes += l.len as usize;
            bytes <= COMPACT_CHUNK
        });
        let n = n.count().max(1);
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

fn compacting_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".compacting");
    PathBuf::from(name)
}

/// A new or renamed file is durable once its directory entry is.
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn a_file_that_is_not_a_snapshot_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.log");
        std::fs::write(&path, b"redb\x1a\x0a\xa9\x0d\x0a0000000000").unwrap();
        let err = LogFile::open(&path).err().expect("refused");
        assert!(err.to_string().contains("not a snapshot log"), "{err}");
    }
}
