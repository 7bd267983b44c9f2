//! A project folder as the commands see it: the inventory, the templates and
//! the PKI, loaded once, and the work that spans many hosts (rendering them
//! in parallel).
//!
//! The CLI and, later, the server call into this; neither renders on its own.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::ignition::{Config, SpecVersion};
use crate::inventory::{Host, Inventory, Ttl};
use crate::pki::{CaCert, Pki, mint_token};
use crate::render::Renderer;
use crate::state::{Minter, Op, SqliteStore, State};
use crate::template::Templates;

/// Bootstrap tokens by host name. A host without one renders with
/// [`crate::pki::REDACTED`] in its place.
pub type Tokens = HashMap<String, String>;

/// Tokens minted for configs about to be written, not yet stored.
#[derive(Debug, Default)]
pub struct Minted {
    /// The token text by host name, for the configs.
    pub tokens: Tokens,
    records: Vec<crate::pki::MintedToken>,
}

pub struct Project {
    pub inventory: Inventory,
    pub templates: Templates,
    pub pki: Pki,
    /// Opened on first use: most commands never need it.
    state: OnceLock<State>,
}

/// What to do about a CA that the inventory declares but `pki/` lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissingCa {
    /// Create it (the default for `render`, so a fresh clone renders).
    Create,
    /// Fail, naming the CA (`render --no-create-ca`).
    Refuse,
    /// Leave it out (`validate`, which writes nothing).
    Skip,
}

impl Project {
    /// Loads `root/hosts` and `root/templates`; the PKI lives in `pki_dir`.
    pub fn load(root: &Path, pki_dir: PathBuf) -> Result<Project> {
        let inventory = Inventory::load(root)?;
        let templates = Templates::load(&root.join("templates"))?;
        // The profiles' name templates are checked with the templates they
        // may include, as the templates themselves are: when they load.
        for profile in inventory.cluster.profiles.values() {
            let names = std::iter::once(&profile.common_name)
                .chain(&profile.dns_names)
                .chain(&profile.ip_addresses)
                .chain(&profile.organization)
                .chain(&profile.organizational_unit);
            for text in names {
                templates.check_text(text).map_err(|e| {
                    e.note(format!(
                        "a name of [profiles.{}] in hosts/cluster.toml",
                        profile.name
                    ))
                })?;
            }
        }
        Ok(Project {
            inventory,
            templates,
            pki: Pki::new(pki_dir),
            state: OnceLock::new(),
        })
    }

    /// The state (tokens, enrollments, the audit), opened once and shared
    /// by whoever needs it; created when missing.
    pub fn state(&self) -> Result<&State> {
        if let Some(state) = self.state.get() {
            return Ok(state);
        }
        let opened = State::new(SqliteStore::open(&self.pki.state_db_path())?);
        Ok(self.state.get_or_init(|| opened))
    }

    /// Whether there is any state yet, for commands that only read it and
    /// should not create it.
    pub fn has_state(&self) -> bool {
        self.state.get().is_some() || self.pki.state_db_path().exists()
    }

    /// The certificates of every CA the inventory declares, in name order.
    /// `report` hears of each CA created.
    pub fn ca_certs(
        &self,
        missing: MissingCa,
        report: &mut dyn FnMut(&str),
    ) -> Result<Vec<CaCert>> {
        let cluster = &self.inventory.cluster;
        let mut certs = Vec::with_capacity(cluster.cas.len());
        for (name, spec) in &cluster.cas {
            if self.pki.exists(name) {
                certs.push(self.pki.load_cert(name)?);
                continue;
            }
            match missing {
                MissingCa::Create => {
                    certs.push(self.pki.init(name, spec, cluster.name.as_str())?);
                    report(&format!(
                        "created CA `{name}` ({}) in {}",
                        spec.key_type,
                        self.pki.ca_dir(name).display()
                    ));
                }
                MissingCa::Refuse => {
                    return Err(Error::new(format!(
                        "CA `{name}` is missing from {} (run `coregen ca init {name}`, or render \
                         without --no-create-ca)",
                        self.pki.dir().display()
                    )));
                }
                MissingCa::Skip => {}
            }
        }
        Ok(certs)
    }

    /// The hosts named, in the order given, or every host.
    pub fn select_hosts(&self, names: &[String]) -> Result<Vec<&Host>> {
        if names.is_empty() {
            return Ok(self.inventory.hosts.iter().collect());
        }
        names.iter().map(|n| self.inventory.host(n)).collect()
    }

    /// Mints a bootstrap token for each of `hosts` that has profiles, in
    /// memory: [`Project::store_tokens`] commits them once the configs
    /// holding them are rendered and staged, and before any is in place.
    /// Each lives `ttl`, or `[server] token_ttl`.
    pub fn mint_tokens(&self, hosts: &[&Host], now: i64, ttl: Option<Ttl>) -> Result<Minted> {
        let mut minted = Minted::default();
        let Some(server) = &self.inventory.cluster.server else {
            return Ok(minted);
        };
        let ttl = ttl.unwrap_or(server.token_ttl).duration().as_secs();
        for host in hosts.iter().filter(|h| !h.profiles.is_empty()) {
            let token = mint_token(host.name.as_str(), ttl, now)?;
            minted.tokens.insert(token.host.clone(), token.text.clone());
            minted.records.push(token);
        }
        Ok(minted)
    }

    /// Commits `minted` to the state, so that the tokens enroll.
    pub fn store_tokens(&self, minted: &Minted) -> Result<()> {
        if minted.records.is_empty() {
            return Ok(());
        }
        self.state()?
            .apply(&[Op::Mint(minted.records.clone(), Minter::Render)])?;
        Ok(())
    }

    /// Renders `hosts` on all cores and hands each config to `sink`. On the
    /// first failure the other workers stop; the error returned is that of
    /// the earliest failing host in `hosts`, so it does not depend on timing.
    pub fn render_each<T: Send>(
        &self,
        hosts: &[&Host],
        cas: &[CaCert],
        spec: SpecVersion,
        tokens: &Tokens,
        sink: impl Fn(&Host, Config) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(hosts.len())
            .max(1);
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let done: Mutex<Vec<(usize, Result<T>)>> = Mutex::new(Vec::with_capacity(hosts.len()));

        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    let mut renderer = Renderer::new(&self.inventory, &self.templates, cas, spec);
                    let mut mine = Vec::new();
                    // Hosts are claimed in order, so every host before a
                    // failing one is finished before the workers stop.
                    while !failed.load(Ordering::Relaxed) {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(host) = hosts.get(i) else { break };
                        let token = tokens.get(host.name.as_str()).map(String::as_str);
                        let result = renderer
                            .render(host, token)
                            .and_then(|config| sink(host, config));
                        if result.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        mine.push((i, result));
                    }
                    done.lock()
                        .expect("no worker panics while holding it")
                        .extend(mine);
                });
            }
        });

        let mut done = done.into_inner().expect("workers are joined");
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, result)| result).collect()
    }
}
