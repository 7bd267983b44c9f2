//! The server's own certificate, from the `http` CA, and the rustls config
//! that presents it.
//!
//! `pki/serve/server.key` (mode 0600) and `pki/serve/server.crt` are kept
//! while they still fit: issued by the current `http` CA, for the host of
//! the server URL, with the key beside them, and valid for another 30 days.
//! Otherwise a fresh key and certificate replace them at start-up. Hosts
//! trust the `http` CA from their config, so a renewal needs no change on
//! them.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{KeyPair, PublicKeyData};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::error::{Error, Result};
use crate::inventory::{ServerUrl, UrlHost};
use crate::pki::{CertNames, KeyType, Pki, Signer, issue_server};
use crate::state::State;

/// The server certificate's lifetime, and how long before its end it is
/// renewed.
const VALIDITY_DAYS: u32 = 90;
const RENEW_DAYS: i64 = 30;

/// What `ensure` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Kept,
    Issued { serial: String },
}

pub struct ServerCert {
    pub cert_pem: String,
    key_pem: String,
}

impl ServerCert {
    pub fn cert_path(pki: &Pki) -> PathBuf {
        pki.dir().join("serve/server.crt")
    }

    fn key_path(pki: &Pki) -> PathBuf {
        pki.dir().join("serve/server.key")
    }

    /// The current server certificate for `url`, issued anew when needed
    /// by `http` and recorded in the audit log.
    pub fn ensure(
        pki: &Pki,
        state: &State,
        http: &Signer,
        url: &ServerUrl,
    ) -> Result<(ServerCert, Outcome)> {
        let (cert_path, key_path) = (Self::cert_path(pki), Self::key_path(pki));
        if let (Ok(cert_pem), Ok(key_pem)) = (
            std::fs::read_to_string(&cert_path),
            std::fs::read_to_string(&key_path),
        ) && still_fits(&cert_pem, &key_pem, http, url)
        {
            return Ok((ServerCert { cert_pem, key_pem }, Outcome::Kept));
        }

        let key = KeyType::EcdsaP256
            .generate()
            .map_err(|e| Error::new("cannot generate the server key").with_source(e))?;
        let names = names_for(url);
        let issued = issue_server(http, &key, &names, VALIDITY_DAYS)?;
        let dir = cert_path.parent().expect("a file in pki/serve");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(dir, "create", e))?;
        let key_pem = key.serialize_pem();
        replace(&key_path, key_pem.as_bytes(), 0o600)?;
        replace(&cert_path, issued.pem.as_bytes(), 0o644)?;

        state.record_issued(&issued.record)?;
        Ok((
            ServerCert {
                cert_pem: issued.pem,
                key_pem,
            },
            Outcome::Issued {
                serial: issued.record.serial,
            },
        ))
    }

    /// The rustls config: this certificate, and a request for a client
    /// certificate that `clients` decides on.
    pub fn rustls_config(
        &self,
        clients: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    ) -> Result<Arc<ServerConfig>> {
        let cert = CertificateDer::from_pem_slice(self.cert_pem.as_bytes())
            .map_err(|e| Error::new("cannot read the server certificate").with_source(e))?;
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes())
            .map_err(|e| Error::new("cannot read the server key").with_source(e))?;
        let mut config = ServerConfig::builder()
            .with_client_cert_verifier(clients)
            .with_single_cert(vec![cert], key)
            .map_err(|e| {
                Error::new("the server certificate does not fit its key").with_source(e)
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

fn names_for(url: &ServerUrl) -> CertNames {
    match url.host() {
        UrlHost::Ip(ip) => CertNames {
            common_name: ip.to_string(),
            dns_names: Vec::new(),
            ip_addresses: vec![*ip],
            ..CertNames::default()
        },
        UrlHost::Dns(name) => CertNames {
            common_name: name.clone(),
            dns_names: vec![name.clone()],
            ip_addresses: Vec::new(),
            ..CertNames::default()
        },
    }
}

/// Whether a kept certificate may go on serving: signed by the current
/// `http` CA, naming the URL's host, for the key beside it, and not near
/// its end.
fn still_fits(cert_pem: &str, key_pem: &str, http: &Signer, url: &ServerUrl) -> bool {
    let Ok((_, pem)) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes()) else {
        return false;
    };
    let Ok((_, cert)) = X509Certificate::from_der(&pem.contents) else {
        return false;
    };
    let Ok((_, ca_pem)) = x509_parser::pem::parse_x509_pem(http.cert_pem().as_bytes()) else {
        return false;
    };
    let Ok((_, ca)) = X509Certificate::from_der(&ca_pem.contents) else {
        return false;
    };
    if cert.verify_signature(Some(ca.public_key())).is_err() {
        return false;
    }
    let Ok(key) = KeyPair::from_pem(key_pem) else {
        return false;
    };
    if key.der_bytes() != cert.public_key().subject_public_key.data.as_ref() {
        return false;
    }
    let renew_at = time::OffsetDateTime::now_utc() + time::Duration::days(RENEW_DAYS);
    if cert.validity().not_after.to_datetime() < renew_at {
        return false;
    }
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    san.value
        .general_names
        .iter()
        .any(|name| match (name, url.host()) {
            (GeneralName::DNSName(dns), UrlHost::Dns(host)) => dns.eq_ignore_ascii_case(host),
            (GeneralName::IPAddress(bytes), UrlHost::Ip(ip)) => {
                crate::values::ip_from_san(bytes) == Some(*ip)
            }
            _ => false,
        })
}

/// Writes `path` through a temporary file beside it and a rename.
fn replace(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().expect("a file in pki/serve");
    let mut file = tempfile::Builder::new()
        .prefix(".coregen-")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, "create a temporary file in", e))?;
    file.write_all(contents)
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| Error::io(file.path(), "write", e))?;
    file.persist(path)
        .map_err(|e| Error::io(path, "replace", e.error))?;
    Ok(())
}
