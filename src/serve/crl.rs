//! `GET /crl/{ca}.crl`: each CA's signed CRL (DER), public like the CA
//! certificates, so also over plain HTTP.
//!
//! A CRL is signed on the first request and cached per CA. Each request
//! reads the CA's CRL number (one primary-key lookup in the state), so a
//! revocation or a retirement, which bumps it, is served from the next
//! request on. An unchanged CRL is signed again once half of its life
//! (`thisUpdate` to `nextUpdate`) has passed, so that what is served is
//! always good for at least half of [`CRL_VALIDITY`], and when a reload
//! brought another CA certificate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use time::OffsetDateTime;

use super::App;
use super::generation::Generation;
use super::routes::ApiError;
use crate::error::Result;
use crate::pki::Signer;
use crate::state::Revocation;

/// The media type of a DER CRL (RFC 2585).
const CRL_TYPE: &str = "application/pkix-crl";

/// The CRLs served, by CA.
pub struct Crls {
    cached: Mutex<HashMap<String, Arc<Cached>>>,
    /// Held while signing, so that a burst of requests for a stale CRL
    /// signs it once.
    signing: tokio::sync::Mutex<()>,
}

struct Cached {
    number: u64,
    /// The CA certificate it was signed under.
    ca_pem: String,
    /// When to sign it again though nothing changed: half way to its
    /// `nextUpdate`.
    refresh_at: OffsetDateTime,
    der: Bytes,
}

impl Crls {
    pub fn new() -> Crls {
        Crls {
            cached: Mutex::new(HashMap::new()),
            signing: tokio::sync::Mutex::new(()),
        }
    }

    fn fresh(&self, ca: &str, number: u64, ca_pem: &str) -> Option<Bytes> {
        let cached = self.cached.lock().expect("not poisoned").get(ca).cloned()?;
        (cached.number == number
            && cached.ca_pem == ca_pem
            && OffsetDateTime::now_utc() < cached.refresh_at)
            .then(|| cached.der.clone())
    }
}

/// `GET /crl/{ca}.crl`.
pub async fn crl(
    State(app): State<&'static App>,
    file: std::result::Result<Path<String>, PathRejection>,
) -> Response {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no such CA").into_response();
    let Ok(Path(file)) = file else {
        return not_found();
    };
    let generation = app.current();
    let Some(ca) = file
        .strip_suffix(".crl")
        .filter(|name| generation.inventory().cluster.cas.contains_key(*name))
        .map(str::to_string)
    else {
        return not_found();
    };
    match serve_crl(app, generation, ca).await {
        Ok(der) => ([(header::CONTENT_TYPE, CRL_TYPE)], der).into_response(),
        Err(e) => {
            tracing::error!("making a CRL: {e}");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "coregen failed; the server log says why",
            )
            .into_response()
        }
    }
}

async fn serve_crl(app: &'static App, generation: Arc<Generation>, ca: String) -> Result<Bytes> {
    let ca_pem = match generation.loaded().cas.iter().find(|c| c.name == ca) {
        Some(cert) => cert.pem.clone(),
        None => String::new(),
    };
    let number = app.state.crl_number(&ca)?;
    if let Some(der) = app.crls.fresh(&ca, number, &ca_pem) {
        return Ok(der);
    }
    let _signing = app.crls.signing.lock().await;
    // Another request may have signed it while this one waited.
    let number = app.state.crl_number(&ca)?;
    if let Some(der) = app.crls.fresh(&ca, number, &ca_pem) {
        return Ok(der);
    }
    let state = app.state.clone();
    let name = ca.clone();
    let cached = tokio::task::spawn_blocking(move || -> Result<Cached> {
        let loaded;
        let signer: &Signer = match generation.loaded().signers.get(&name) {
            Some(signer) => signer,
            None => {
                loaded = generation.loaded().project.pki.signer(&name)?;
                &loaded
            }
        };
        let (number, revoked) = state.crl(&name)?;
        let crl = signer.sign_crl(
            number,
            revoked.iter().map(Revocation::entry),
            OffsetDateTime::now_utc(),
        )?;
        Ok(Cached {
            number,
            ca_pem: signer.cert_pem().to_string(),
            refresh_at: crl.this_update + (crl.next_update - crl.this_update) / 2,
            der: Bytes::from(crl.der),
        })
    })
    .await
    .map_err(|e| crate::error::Error::new(format!("signing a CRL panicked: {e}")))??;
    let der = cached.der.clone();
    tracing::info!(ca = %ca, number = cached.number, "signed a CRL");
    app.crls
        .cached
        .lock()
        .expect("not poisoned")
        .insert(ca, Arc::new(cached));
    Ok(der)
}
