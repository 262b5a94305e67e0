//! The T-Server process as Linux's /proc shows it: CPU seconds (user + system) and resident memory
//! (now and peak), and which process listens on a TCP port (when `--server-pid` is not given).
//! Parsing is pure (`parse_*`, unit-tested on captured text); the readers are one `read_to_string`
//! each. Linux only: elsewhere every reader answers None and the report says "not measured".

use serde::Serialize;
use std::path::Path;

/// Clock ticks per second of /proc/PID/stat's utime and stime. Linux reports them in USER_HZ,
/// which is 100 on every architecture it supports (sysconf(_SC_CLK_TCK)).
const USER_HZ: f64 = 100.0;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ProcSample {
    /// user + system CPU time since the process started, seconds.
    pub cpu_seconds: f64,
    /// Resident set size now, KiB (VmRSS).
    pub rss_kib: u64,
    /// Peak resident set size over the process's life, KiB (VmHWM).
    pub peak_rss_kib: u64,
}

/// utime + stime in seconds from the text of /proc/PID/stat. The command name (field 2) is in
/// parentheses and may hold spaces or parentheses, so fields are counted after the last `)`.
pub fn parse_stat_cpu_seconds(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// A `Key:   123 kB` value from /proc/PID/status (or /proc/meminfo).
pub fn parse_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(':')?;
        v.split_whitespace().next()?.parse().ok()
    })
}

/// Reads the process `pid`; None when it is gone or /proc is not there.
pub fn sample(pid: u32) -> Option<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(ProcSample {
        cpu_seconds: parse_stat_cpu_seconds(&stat)?,
        rss_kib: parse_kib(&status, "VmRSS").unwrap_or(0),
        peak_rss_kib: parse_kib(&status, "VmHWM").unwrap_or(0),
    })
}

/// The socket inodes listening on `port` in the text of /proc/net/tcp or /proc/net/tcp6.
pub fn parse_listening_inodes(net_tcp: &str, port: u16) -> Vec<u64> {
    net_tcp
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let local_port = u16::from_str_radix(f.get(1)?.rsplit(':').next()?, 16).ok()?;
            let listening = *f.get(3)? == "0A";
            (listening && local_port == port).then(|| f.get(9)?.parse().ok()).flatten()
        })
        .collect()
}

/// The process that holds a socket listening on `port` (the T-Server, for its T-Library port).
pub fn find_listener(port: u16) -> Option<u32> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            inodes.extend(parse_listening_inodes(&text, port));
        }
    }
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if wanted.iter().any(|w| Path::new(w) == target) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

/// The machine a run was measured on: cores, CPU model and memory (Linux; "unknown" elsewhere).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total_mib: u64,
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|v| v.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        nproc: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu_model,
        mem_total_mib: parse_kib(&meminfo, "MemTotal").unwrap_or(0) / 1024,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_are_counted_after_the_command_name() {
        let stat = "4242 (sfb tserver) (x)) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 130 0 0 20 0 9 0 100 \
                    1000000 2500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_stat_cpu_seconds(stat), Some(3.8));
        assert_eq!(parse_stat_cpu_seconds("garbage"), None);
    }

    #[test]
    fn memory_lines_are_read_in_kib() {
        let status = "Name:\tsfb-tserver\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
        assert_eq!(parse_kib(status, "VmHWM"), Some(204_800));
        assert_eq!(parse_kib(status, "VmRSS"), Some(102_400));
        assert_eq!(parse_kib(status, "VmSwap"), None);
    }

    #[test]
    fn only_listening_sockets_on_the_port_are_found() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
           0: 0100007F:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31337 1 0\n\
           1: 0100007F:1B58 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 31338 1 0\n\
           2: 0100007F:1BA8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 31339 1 0\n";
        assert_eq!(parse_listening_inodes(tcp, 7000), vec![31337]);
        assert_eq!(parse_listening_inodes(tcp, 7080), vec![31339]);
        assert!(parse_listening_inodes(tcp, 9).is_empty());
    }

    #[test]
    fn this_process_can_be_sampled_and_found_by_its_listening_port() {
        if !Path::new("/proc/self/stat").exists() {
            return; // not Linux: the readers answer None, checked by the report
        }
        let me = sample(std::process::id()).expect("own /proc entry");
        assert!(me.rss_kib > 0 && me.peak_rss_kib >= me.rss_kib, "{me:?}");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(find_listener(port), Some(std::process::id()));
        assert!(machine().nproc >= 1);
    }
}
