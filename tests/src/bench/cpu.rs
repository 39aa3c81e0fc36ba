//! CPU time of the processes under load, read from `/proc`: where the time
//! of a flow goes, which throughput alone hides. Each watched process is
//! read at the start and the end of a measured window; a tree (PostgreSQL's
//! postmaster) adds the CPU of its children: the backends serving the
//! stack, and, through the parent's `cutime`/`cstime`, those that exited.

use std::{collections::BTreeMap, path::Path};

/// A process to account for, by name.
#[derive(Clone, Debug)]
pub struct Watched {
    pub name: String,
    pub pid: u32,
    /// Count its descendants too.
    pub tree: bool,
}

impl Watched {
    /// `NAME=PID`, as `--cpu-process` and `--cpu-tree` take it.
    pub fn parse(text: &str, tree: bool) -> Result<Watched, String> {
        let (name, pid) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not NAME=PID"))?;
        let pid = pid
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: the PID is not a number"))?;
        Ok(Watched {
            name: name.trim().to_owned(),
            pid,
            tree,
        })
    }
}

/// CPU seconds used so far by each watched process (user + system).
pub type Snapshot = BTreeMap<String, f64>;

/// One process's `/proc/PID/stat`: (parent, own ticks, reaped children's ticks).
fn stat(pid: u32) -> Option<(u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields
    // count from after its closing one (field 3, the state, comes first).
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |index: usize| fields.get(index)?.parse::<u64>().ok();
    let parent = u32::try_from(number(1)?).ok()?;
    // utime, stime, cutime, cstime: fields 14 to 17 of proc(5).
    let own = number(11)? + number(12)?;
    let reaped = number(13)? + number(14)?;
    Some((parent, own, reaped))
}

/// Every process's parent, for finding a tree's members.
fn parents() -> BTreeMap<u32, u32> {
    let mut parents = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(Path::new("/proc")) else {
        return parents;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((parent, _, _)) = stat(pid) {
            parents.insert(pid, parent);
        }
    }
    parents
}

/// CPU seconds of each watched process now; `clock_ticks` per second.
pub fn snapshot(watched: &[Watched], clock_ticks: f64) -> Snapshot {
    let parents = if watched.iter().any(|w| w.tree) {
        parents()
    } else {
        BTreeMap::new()
    };
    watched
        .iter()
        .map(|process| {
            let mut ticks = 0;
            if let Some((_, own, reaped)) = stat(process.pid) {
                ticks += own + reaped;
            }
            if process.tree {
                for (&pid, _) in parents
                    .iter()
                    .filter(|&(_, &parent)| descends(parent, process.pid, &parents))
                {
                    if let Some((_, own, reaped)) = stat(pid) {
                        ticks += own + reaped;
                    }
                }
            }
            (process.name.clone(), ticks as f64 / clock_ticks)
        })
        .collect()
}

/// Whether `pid` is `root` or one of its descendants.
fn descends(mut pid: u32, root: u32, parents: &BTreeMap<u32, u32>) -> bool {
    for _ in 0..64 {
        if pid == root {
            return true;
        }
        match parents.get(&pid) {
            Some(&parent) if parent != pid => pid = parent,
            _ => return false,
        }
    }
    false
}

/// Milliseconds of CPU per flow between two snapshots.
pub fn per_flow(before: &Snapshot, after: &Snapshot, flows: u64) -> BTreeMap<String, f64> {
    if flows == 0 {
        return BTreeMap::new();
    }
    after
        .iter()
        .map(|(name, seconds)| {
            let used = seconds - before.get(name).copied().unwrap_or(*seconds);
            (name.clone(), used.max(0.0) * 1000.0 / flows as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_uses_cpu_and_its_tree_includes_it() {
        let me = std::process::id();
        let watched = [
            Watched::parse(&format!("me={me}"), false).unwrap(),
            Watched::parse(&format!("tree={me}"), true).unwrap(),
        ];
        let before = snapshot(&watched, 100.0);
        // Spin until the kernel has counted a few ticks of this process.
        let start = std::time::Instant::now();
        let mut spin = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(200) {
            spin = spin.wrapping_add(std::hint::black_box(1));
        }
        let after = snapshot(&watched, 100.0);
        let used = per_flow(&before, &after, 1);
        assert!(used["me"] > 50.0, "{used:?} after {spin} spins");
        assert!(used["tree"] >= used["me"] - 20.0, "{used:?}");
        assert!(Watched::parse("nopid", false).is_err());
        assert!(Watched::parse("x=abc", false).is_err());
    }
}
