//! A throwaway 3-master Redis Cluster of local `redis-server` processes on
//! loopback ports: for the token store suite on Redis Cluster, the checks
//! only a cluster has, and a cluster restored from its snapshots.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context as _;

const MASTERS: usize = 3;
const INSTALL_HINT: &str =
    "is it installed and on PATH? e.g. apt-get install redis-server (it ships redis-cli)";

/// Our own cluster: every child killed and its directory removed on drop, so
/// a failing test leaves no process and no file behind.
pub struct RedisCluster {
    children: Vec<Child>,
    ports: Vec<u16>,
    bus_ports: Vec<u16>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts the masters, joins them with `redis-cli --cluster create` and
    /// waits until every node reports `cluster_state:ok`. Blocking: call it
    /// through [`Self::start_in_background`] from async code.
    pub fn start() -> anyhow::Result<Self> {
        check_tool("redis-cli")?;
        let dir = std::env::temp_dir().join(format!("actas-redis-cluster-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        // Client and cluster-bus ports both picked free: the default bus
        // port (client + 10000) may be taken or past 65535.
        let free = free_ports(2 * MASTERS)?;
        let (ports, bus_ports) = free.split_at(MASTERS);
        let mut cluster = Self {
            children: Vec::new(),
            ports: ports.to_vec(),
            bus_ports: bus_ports.to_vec(),
            dir,
        };
        for (&port, &bus_port) in ports.iter().zip(bus_ports) {
            let child = cluster.spawn_master(port, bus_port)?;
            cluster.children.push(child);
        }
        for &port in ports {
            cluster.wait_for(
                port,
                "answer PING",
                Duration::from_secs(10),
                |output| output.trim() == "PONG",
                &["ping"],
            )?;
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for &port in ports {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let created = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .context("running `redis-cli --cluster create`")?;
        anyhow::ensure!(
            created.status.success(),
            "`redis-cli --cluster create` failed: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        cluster.wait_until_ok()?;
        Ok(cluster)
    }

    fn wait_until_ok(&mut self) -> anyhow::Result<()> {
        for port in self.ports.clone() {
            self.wait_for(
                port,
                "report cluster_state:ok",
                Duration::from_secs(20),
                |output| output.lines().any(|line| line.trim() == "cluster_state:ok"),
                &["cluster", "info"],
            )?;
        }
        Ok(())
    }

    /// Every master writes its snapshot now (`SAVE`), as Redis's save
    /// points do by themselves.
    pub fn save(&self) -> anyhow::Result<()> {
        for &port in &self.ports {
            let saved = redis_cli(port, &["save"])?;
            anyhow::ensure!(
                saved.status.success() && String::from_utf8_lossy(&saved.stdout).trim() == "OK",
                "SAVE on port {port} failed"
            );
        }
        Ok(())
    }

    /// Kills every master (SIGKILL) and starts them again on their ports:
    /// each loads its cluster configuration and its last snapshot, and the
    /// cluster is back as of the snapshots. Blocking.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.children.clear();
        for (port, bus_port) in self.ports.clone().into_iter().zip(self.bus_ports.clone()) {
            let child = self.spawn_master(port, bus_port)?;
            self.children.push(child);
        }
        self.wait_until_ok()
    }

    pub async fn start_in_background() -> anyhow::Result<Self> {
        tokio::task::spawn_blocking(Self::start).await?
    }

    /// One `redis://` URL per master.
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect()
    }

    /// Kills every master at once: the whole cluster is down.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        for child in &mut self.children {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    fn spawn_master(&self, port: u16, bus_port: u16) -> anyhow::Result<Child> {
        let config_file = self.dir.join(format!("nodes-{port}.conf"));
        let log_file = self.dir.join(format!("redis-{port}.log"));
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                &bus_port.to_string(),
            ])
            .arg("--cluster-config-file")
            .arg(&config_file)
            // Snapshots only when told (`save`), one file per master.
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dbfilename")
            .arg(format!("dump-{port}.rdb"))
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!("cannot start `redis-server` ({INSTALL_HINT}); the Redis Cluster tests need it")
            })
    }

    /// Polls `redis-cli -p port <command>` until `ready` holds of its output,
    /// failing early when a master died (its log says why).
    fn wait_for(
        &mut self,
        port: u16,
        what: &str,
        within: Duration,
        ready: impl Fn(&str) -> bool,
        command: &[&str],
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            for child in &mut self.children {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!(
                        "a cluster redis-server exited ({status}); see its log under {}",
                        self.dir.display()
                    );
                }
            }
            let output = redis_cli(port, command)?;
            if output.status.success() && ready(&String::from_utf8_lossy(&output.stdout)) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "redis-server on port {port} did not {what} within {within:?}; log under {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn check_tool(name: &str) -> anyhow::Result<()> {
    Command::new(name)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run `{name}` ({INSTALL_HINT}); the Redis Cluster tests need it"))?;
    Ok(())
}

fn redis_cli(port: u16, command: &[&str]) -> anyhow::Result<Output> {
    Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(command)
        .output()
        .context("running redis-cli")
}

/// Distinct free loopback ports: all held open together so none repeats.
fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    listeners
        .iter()
        .map(|listener| Ok(listener.local_addr()?.port()))
        .collect()
}
