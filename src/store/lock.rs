//! One daemon per database: an exclusive lock on `DATABASE.lock`, held for the
//! daemon's whole life.
//!
//! Two writers on one database break the evidence: the second one's start seals the
//! first one's open runs, and the first then fails every commit. So `slawatch run`
//! takes this lock before it opens the store and keeps it until it exits; a second
//! `run` is refused, naming the holder. The lock is `flock(2)` through
//! [`std::fs::File::try_lock`]: the kernel releases it when the process ends, however
//! it ends (kill -9 included), so a stale file never blocks a restart. The file keeps
//! the holder's pid, vantage and start time, for the refusal message; it is left in
//! place on exit (removing it would race with a daemon starting).
//!
//! Readers (`status`, `outages`, `report`, `verify`) and `incident add` do not take
//! the lock: SQLite's own locking serialises them with the daemon.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock file of a database: `DATABASE.lock`, beside it.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "{database}: another slawatch daemon is already writing this database ({holder}; \
         lock file {lock}). Stop it first (`systemctl stop slawatch`, or kill that pid), \
         or give this one another [daemon] database"
    )]
    Held {
        /// The database.
        database: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// What the holder wrote into it.
        holder: String,
    },
    /// The lock file could not be opened, locked or written.
    #[error("{lock}: cannot take the database lock: {source}")]
    Io {
        /// The lock file.
        lock: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The held lock; dropping it releases it.
#[derive(Debug)]
pub struct DbLock {
    _file: File,
    #[cfg(test)]
    path: PathBuf,
}

impl DbLock {
    /// Takes the lock of `database` without waiting, and writes `holder` (who holds
    /// it: pid, vantage, start time) into the lock file.
    ///
    /// # Errors
    /// [`LockError::Held`] naming the holder when another process has it;
    /// [`LockError::Io`] when the file cannot be opened or written.
    pub(crate) fn acquire(database: &Path, holder: &str) -> Result<DbLock, LockError> {
        let path = lock_path(database);
        let io = |source| LockError::Io {
            lock: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The database's folder is created here first; failing that, open says why.
            let _ = std::fs::create_dir_all(dir);
        }
        // Not truncated on open: the holder's text must survive our failed attempt.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let text = text.trim();
                return Err(LockError::Held {
                    database: database.to_path_buf(),
                    lock: path.clone(),
                    holder: if text.is_empty() {
                        "the holder is still starting".to_owned()
                    } else {
                        text.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(format!("{holder}\n").as_bytes())
            .map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(DbLock {
            _file: file,
            #[cfg(test)]
            path,
        })
    }

    /// The lock file.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_text_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sub/evidence.db");
        let first = DbLock::acquire(&db, "pid 1, vantage a").unwrap();
        assert_eq!(first.path(), dir.path().join("sub/evidence.db.lock"));
        let err = DbLock::acquire(&db, "pid 2, vantage b").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("pid 1, vantage a"), "{msg}");
        assert!(msg.contains("evidence.db.lock"), "{msg}");
        drop(first);
        let second = DbLock::acquire(&db, "pid 2, vantage b").unwrap();
        let text = std::fs::read_to_string(second.path()).unwrap();
        assert_eq!(text, "pid 2, vantage b\n");
    }
}
