//! The etcd and kube-apiserver child processes: started with their output in a log file,
//! stopped by PID.
//!
//! Stopping sends SIGTERM, waits a grace period, then SIGKILLs, and always reaps the child,
//! so neither a PID nor a zombie outlives the [`ServerProcess`] value.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};

/// How long [`ServerProcess::stop`] waits after SIGTERM before it sends SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);

/// One running server binary.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    /// `etcd` or `kube-apiserver`, for messages.
    pub(crate) name: &'static str,
    /// `None` once stopped and reaped.
    child: Option<Child>,
    /// Where stdout and stderr go.
    pub(crate) log: PathBuf,
}

impl ServerProcess {
    /// Starts `program` with `args`, no stdin, and stdout and stderr appended to `log`.
    pub(crate) fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        log: PathBuf,
    ) -> io::Result<Self> {
        let stdout = File::options().create(true).append(true).open(&log)?;
        let stderr = stdout.try_clone()?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()?;
        Ok(Self {
            name,
            child: Some(child),
            log,
        })
    }

    /// The PID while the process has not been stopped.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The exit status if the process has ended on its own (it is reaped then).
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            Ok(None) | Err(_) => None,
        }
    }

    /// The last `max_bytes` of the log, for error messages.
    pub(crate) fn log_tail(&self, max_bytes: u64) -> String {
        let read = || -> io::Result<String> {
            let mut file = File::open(&self.log)?;
            let len = file.metadata()?.len();
            file.seek(SeekFrom::Start(len.saturating_sub(max_bytes)))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        read().unwrap_or_else(|error| format!("(cannot read {}: {error})", self.log.display()))
    }

    /// SIGTERM, up to `grace` for the process to exit, then SIGKILL; reaps the child.
    ///
    /// Blocks the calling thread for at most `grace` plus the time the kernel takes to
    /// deliver SIGKILL. Calling it again after success does nothing.
    pub(crate) fn stop(&mut self, grace: Duration) -> io::Result<()> {
        let Some(child) = self.child.as_mut() else {
            return Ok(());
        };
        if child.try_wait()?.is_none() {
            // NB: the child is not reaped yet, so its PID cannot have been reused.
            let _ = kill_process(Pid::from_child(child), Signal::TERM);
            let deadline = Instant::now() + grace;
            while child.try_wait()?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if child.try_wait()?.is_none() {
                child.kill()?;
                child.wait()?;
            }
        }
        self.child = None;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Err(error) = self.stop(STOP_GRACE) {
            tracing::warn!(process = self.name, %error, "could not stop envtest process");
        }
    }
}

/// `N` distinct TCP ports on 127.0.0.1 that were free a moment ago.
///
/// Limitation: the ports are released before the servers bind them, so another process can
/// take one in between. The envtest start notices the server's "address already in use"
/// exit and tries again with new ports.
pub(crate) fn free_ports<const N: usize>() -> io::Result<[u16; N]> {
    // All listeners stay open until every port is chosen, so the ports differ.
    let mut listeners = Vec::with_capacity(N);
    for _ in 0..N {
        listeners.push(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?);
    }
    let mut ports = [0; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let [a, b, c] = free_ports::<3>().unwrap();
        assert!(a != b && b != c && a != c);
    }

    #[test]
    fn stop_ends_a_process_with_sigterm_and_reaps_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut process = ServerProcess::spawn(
            "sleep",
            Path::new("sleep"),
            &["60".to_owned()],
            dir.path().join("sleep.log"),
        )
        .unwrap();
        let pid = process.pid().unwrap();
        let started = Instant::now();
        process.stop(STOP_GRACE).unwrap();
        assert!(
            started.elapsed() < STOP_GRACE,
            "SIGTERM alone should end sleep"
        );
        assert_eq!(process.pid(), None);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }

    #[test]
    fn stop_falls_back_to_sigkill() {
        let dir = tempfile::tempdir().unwrap();
        let mut process = ServerProcess::spawn(
            "stubborn",
            Path::new("sh"),
            // Short sleeps, so nothing the shell started lingers after it is killed.
            &[
                "-c".to_owned(),
                "trap '' TERM; while :; do sleep 0.05; done".to_owned(),
            ],
            dir.path().join("stubborn.log"),
        )
        .unwrap();
        // Give the shell a moment to install its trap.
        std::thread::sleep(Duration::from_millis(200));
        process.stop(Duration::from_millis(300)).unwrap();
        assert_eq!(process.pid(), None);
    }
}
