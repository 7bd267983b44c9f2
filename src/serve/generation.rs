//! One load of the project, as `serve` answers from it: the inventory and
//! templates, the CA certificates, the signers of the CAs that the profiles
//! name, and a pool of renderers that borrow all of these.
//!
//! `serve` holds the current generation and swaps in a new one when the
//! project changes (`reload.rs`). A request takes the current generation
//! when it starts and uses only that one, so it sees a single inventory
//! from its first lookup to its answer, never a mix of two. What outlives
//! generations (the state, the server's certificate and URL, the limits)
//! stays in [`super::App`].

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;

use self_cell::self_cell;

use super::enroll::{Authority, Issuance, Rejection, Scope};
use crate::contract::{CsrItem, EnrollAnswer, EnrollRequest, HTTP_CA};
use crate::error::{Error, Result};
use crate::ignition::{Config, SpecVersion};
use crate::inventory::{Host, Inventory, Server, ServerUrl, Ttl};
use crate::pki::identity::{self, IDENTITY};
use crate::pki::{CaCert, MintedToken, Profile, Signer, Usage, mint_token};
use crate::project::{MissingCa, Project};
use crate::render::Renderer;
use crate::state::{Replay, unix_now};

/// What a generation owns.
pub struct Loaded {
    pub project: Project,
    /// Every CA's certificate, in name order.
    pub cas: Vec<CaCert>,
    /// The index in `cas` of the CA hosts trust for HTTPS.
    http_ca: usize,
    /// The CAs that sign: `http`, those the profiles name, and `identity`.
    pub signers: BTreeMap<String, Signer>,
    /// The identity CA's certificate, and its pseudo-profile
    /// (`pki::identity`).
    pub identity_ca: CaCert,
    /// The same, DER, as identity certificates are checked against it.
    pub identity_ca_der: Vec<u8>,
    identity: Profile,
    /// `cas` and the identity CA, for enrollment answers.
    answer_cas: Vec<CaCert>,
    /// How long a token minted for a served config lives.
    pub token_ttl: Ttl,
}

/// Renderers are pooled (one per concurrent request at most, so as many as
/// there are runtime threads): each keeps what it encoded and translated
/// once for every host.
type Renderers<'a> = Mutex<Vec<Renderer<'a>>>;

self_cell!(
    /// A [`Loaded`] project with the renderers that borrow it.
    pub struct Generation {
        owner: Loaded,
        #[not_covariant]
        dependent: Renderers,
    }
);

impl Loaded {
    /// `project`, checked for serving at `url` and made ready: configs
    /// point hosts at `url`, and the CAs it declares exist (created when
    /// missing, which `note` hears of).
    pub fn prepare(
        mut project: Project,
        url: &ServerUrl,
        note: &mut dyn FnMut(&str),
    ) -> Result<Loaded> {
        let cluster = &mut project.inventory.cluster;
        let token_ttl = cluster
            .server
            .as_ref()
            .map_or(Ttl::DEFAULT, |s| s.token_ttl);
        cluster.server = Some(Server {
            url: url.clone(),
            token_ttl,
        });
        check_http_ca(&project.inventory)?;
        let cas = project.ca_certs(MissingCa::Create, note)?;
        let identity_ca = if project.pki.exists(IDENTITY) {
            project.pki.load_cert(IDENTITY)?
        } else {
            let cluster = project.inventory.cluster.name.as_str();
            let ca = project.pki.init(IDENTITY, &identity::ca_spec(), cluster)?;
            note(&format!(
                "created CA `{IDENTITY}` for hosts' identity certificates in {}",
                project.pki.ca_dir(IDENTITY).display()
            ));
            ca
        };
        let mut signers = BTreeMap::new();
        let profiles = project.inventory.cluster.profiles.values();
        let needed = profiles.map(|p| p.ca.as_str()).chain([HTTP_CA, IDENTITY]);
        for name in needed {
            if !signers.contains_key(name) {
                let signer = project.pki.signer(name).map_err(|e| {
                    e.note("coregen serve signs server certificates with the `http` CA and each profile's CA")
                })?;
                signers.insert(name.to_string(), signer);
            }
        }
        let http_ca = cas
            .iter()
            .position(|ca| ca.name == HTTP_CA)
            .expect("declared, so created or loaded above");
        let identity_ca_der = x509_parser::pem::parse_x509_pem(identity_ca.pem.as_bytes())
            .map(|(_, pem)| pem.contents)
            .map_err(|_| Error::new(format!("cannot read the certificate of CA `{IDENTITY}`")))?;
        let mut answer_cas = cas.clone();
        answer_cas.push(identity_ca.clone());
        Ok(Loaded {
            project,
            cas,
            http_ca,
            signers,
            identity_ca,
            identity_ca_der,
            identity: identity::profile(),
            answer_cas,
            token_ttl,
        })
    }

    pub fn inventory(&self) -> &Inventory {
        &self.project.inventory
    }

    /// The CA hosts trust for HTTPS.
    pub fn http_ca(&self) -> &CaCert {
        &self.cas[self.http_ca]
    }

    pub fn mint(&self, host: &Host) -> Result<MintedToken> {
        mint_token(
            host.name.as_str(),
            self.token_ttl.duration().as_secs(),
            unix_now(),
        )
    }

    /// The answer already given under `replay`'s token, when `request` is
    /// the same one.
    pub fn replay(
        &self,
        host: &Host,
        request: &EnrollRequest,
        replay: &Replay,
    ) -> std::result::Result<Option<EnrollAnswer>, Rejection> {
        self.authority().replay(host, request, replay)
    }

    fn authority(&self) -> Authority<'_> {
        Authority {
            profiles: &self.project.inventory.cluster.profiles,
            identity: &self.identity,
            signers: &self.signers,
            cas: &self.answer_cas,
        }
    }
}

/// `serve` needs the `http` CA, and one whose duty includes server-auth:
/// it signs the server's own certificate. Checked before anything is
/// created, at start and at each reload.
fn check_http_ca(inventory: &Inventory) -> Result<()> {
    let Some(http) = inventory.cluster.cas.get(HTTP_CA) else {
        return Err(Error::new(format!(
            "coregen serve needs the `{HTTP_CA}` CA: declare [ca.{HTTP_CA}] in hosts/cluster.toml \
             (it signs the server's certificate, and hosts trust it to fetch their configs)"
        )));
    };
    if !http.usages.contains(&Usage::ServerAuth) {
        return Err(Error::new(format!(
            "coregen serve needs a server-auth certificate from the `{HTTP_CA}` CA, but \
             [ca.{HTTP_CA}] usages ({}) do not allow server-auth",
            http.usages
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .note("add \"server-auth\" to its usages in hosts/cluster.toml"));
    }
    Ok(())
}

impl Generation {
    pub fn load(loaded: Loaded) -> Generation {
        Generation::new(loaded, |_| Mutex::new(Vec::new()))
    }

    pub fn loaded(&self) -> &Loaded {
        self.borrow_owner()
    }

    pub fn inventory(&self) -> &Inventory {
        self.loaded().inventory()
    }

    /// Runs `f` with a renderer from the pool.
    fn with_renderer<T>(&self, f: impl FnOnce(&mut Renderer<'_>) -> T) -> T {
        self.with_dependent(|loaded, pool| {
            let pooled = pool.lock().expect("not poisoned").pop();
            let mut renderer = pooled.unwrap_or_else(|| {
                let project = &loaded.project;
                Renderer::new(
                    &project.inventory,
                    &project.templates,
                    &loaded.cas,
                    project.inventory.cluster.spec,
                )
            });
            let result = f(&mut renderer);
            pool.lock().expect("not poisoned").push(renderer);
            result
        })
    }

    /// `host`'s config. A panic in rendering is an error like any other:
    /// one request must not take the server down (the renderer it used is
    /// dropped, not pooled again).
    pub fn render(&self, host: &Host, spec: SpecVersion, token: Option<&str>) -> Result<Config> {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.with_renderer(|r| {
                crate::fault::panic_point("render-panic");
                r.set_spec(spec);
                r.render(host, token)
            })
        }))
        .unwrap_or_else(|panic| {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(Error::new(format!("rendering failed: {why}")))
        })
    }

    /// Checks `csrs` against `host`'s profiles as `scope` allows, and
    /// signs them.
    pub fn issue(
        &self,
        host: &Host,
        csrs: &[CsrItem],
        scope: Scope,
    ) -> std::result::Result<Issuance, Rejection> {
        let authority = self.loaded().authority();
        self.with_renderer(|r| {
            authority.issue(host, csrs, scope, |p| r.context().cert_names(host, p))
        })
    }
}
