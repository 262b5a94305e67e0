//! The snapshot log on disk (format in `log.rs`): batches are appended and made durable with one
//! `fdatasync`; an index in memory says where each key's latest value is; when the file holds
//! mostly superseded values it is rewritten with the live ones (compaction). Why not a B-tree:
//! this store is written hundreds of times a second and read once, at start-up. redb's
//! copy-on-write inserts and commits were a quarter of the T-Server's CPU in the vendor profile
//! (perf, 1,000 agents and 1,200 calls); appending costs a write and the fsync.
//!
//! Crash safety: an append that did not finish is a torn last frame, cut off at the next open (its
//! batch was never acknowledged); what is cut is kept beside the log (`<log>.cut-<time>`), since
//! damage in the middle of the log would look the same and cut acknowledged batches. A compaction
//! writes a new file beside the log, syncs it and renames it over the log; a crash before the
//! rename leaves the old log, and the unfinished file is removed at the next open; no append is
//! acknowledged until the rename's directory entry is synced. One process at a time: the log is
//! locked (`<log>.lock`, `flock`) while open.

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
    /// Held for the log's life: its `flock` keeps a second writer out.
    _lock: File,
    /// A compaction renamed the log but could not sync the directory: appends wait for it.
    dir_unsynced: bool,
    /// After a failed compaction, the length the log must reach before the next try.
    compact_retry_at: u64,
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
        let lock = lock(path)?;
        let _ = std::fs::remove_file(compacting_path(path));
        let bytes = match std::fs::read(path) {
            // A log whose creation did not finish (no whole header yet) holds nothing: start it again.
            Ok(b) if b.len() < HEADER.len() && HEADER.starts_with(&b) => return LogFile::create(path, lock),
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return LogFile::create(path, lock),
            Err(e) => return Err(e),
        };
        let scan = log::scan(&bytes).map_err(io::Error::other)?;
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let mut log = LogFile::empty(path, file, lock);
        log.apply(&scan.entries, 0);
        log.len = scan.valid_len as u64;
        if scan.valid_len < bytes.len() {
            let kept = keep_cut(path, &bytes[scan.valid_len..])?;
            let cut = bytes.len() - scan.valid_len;
            tracing::warn!(path = %path.display(), cut, kept = %kept.display(),
                "snapshot log: an unfinished last write was cut off (kept beside the log)");
            log.file.set_len(log.len)?;
            log.file.sync_all()?;
        }
        Ok(log)
    }

    fn create(path: &Path, lock: File) -> io::Result<LogFile> {
        let mut file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(path)?;
        file.write_all(HEADER)?;
        file.sync_all()?;
        sync_dir(path)?;
        Ok(LogFile::empty(path, file, lock))
    }

    fn empty(path: &Path, file: File, lock: File) -> LogFile {
        LogFile {
            path: path.to_path_buf(),
            file,
            _lock: lock,
            dir_unsynced: false,
            compact_retry_at: 0,
            len: HEADER.len() as u64,
            index: HashMap::new(),
            live_bytes: 0,
            compactions: 0,
            compact_min: COMPACT_MIN_BYTES,
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
    /// An entry the format cannot hold (a key over 64 KiB, a snapshot over 64 MiB) is refused
    /// alone, with an error in the log: retrying it would fail forever and hold up every other key.
    pub fn append<'a>(&mut self, batch: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>) -> io::Result<()> {
        if self.dir_unsynced {
            sync_dir(&self.path)?;
            self.dir_unsynced = false;
        }
        let path = &self.path;
        let writable = batch.into_iter().filter(|(key, value)| match log::check_entry(key, *value) {
            Ok(()) => true,
            Err(error) => {
                let key: String = key.chars().take(80).collect();
                tracing::error!(path = %path.display(), %key, %error, "snapshot log: snapshot not stored");
                false
            }
        });
        let mut buf = Vec::new();
        let entries = log::encode_batch(&mut buf, writable).map_err(io::Error::other)?;
        if buf.is_empty() {
            return Ok(());
        }
        let written = self.file.write_all_at(&buf, self.len).and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        let base = self.len;
        self.apply(&entries, base);
        self.len += buf.len() as u64;
        let due = self.len > self.compact_min && self.len >= self.compact_retry_at;
        if due && self.len > COMPACT_RATIO * (self.live_bytes + HEADER.len() as u64) {
            if let Err(error) = self.compact() {
                // The log as it is stays valid: only its size suffers until a later try works,
                // once it has grown again (not at every append: each try copies the live set).
                self.compact_retry_at = self.len + self.compact_min / 4;
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
        // Until the new name is durable, a power loss could bring the old file back: appends wait.
        self.dir_unsynced = true;
        sync_dir(&self.path)?;
        self.dir_unsynced = false;
        Ok(())
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
            let written = log::encode_batch(&mut buf, entries).map_err(io::Error::other)?;
            out.write_all_at(&buf, len)?;
            for e in written {
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

/// Takes the log's lock file, or fails if another open log holds it.
fn lock(path: &Path) -> io::Result<File> {
    use std::os::fd::AsRawFd;
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(suffixed(path, ".lock"))?;
    // SAFETY: flock on a descriptor this function owns; no memory is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = io::Error::last_os_error();
        return Err(io::Error::new(error.kind(), format!("the log is in use by another process or store ({error})")));
    }
    Ok(file)
}

/// Saves bytes about to be cut from the log's end: a torn append, or damage that would otherwise
/// take acknowledged batches with it.
fn keep_cut(path: &Path, cut: &[u8]) -> io::Result<PathBuf> {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let kept = suffixed(path, &format!(".cut-{stamp}"));
    let mut file = File::create(&kept)?;
    file.write_all(cut)?;
    file.sync_all()?;
    Ok(kept)
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn compacting_path(path: &Path) -> PathBuf {
    suffixed(path, ".compacting")
}

/// A new or renamed file is durable once its directory entry is.
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
