//! Creating and loading one CA folder: `pki/<name>/ca.key` and `ca.crt`.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use super::CaSpec;
use super::serial::{random_serial, sha256_hex};
use crate::error::{Error, Result};

/// The `pki/` folder.
#[derive(Clone, Debug)]
pub struct Pki {
    dir: PathBuf,
}

/// A CA's public certificate, as rendered configs embed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaCert {
    pub name: String,
    pub pem: String,
}

/// What `coregen ca list` shows of a CA certificate.
#[derive(Clone, Debug)]
pub struct CaInfo {
    pub key_type: String,
    pub subject: String,
    pub not_after: String,
    pub sha256: String,
}

impl CaCert {
    pub fn info(&self) -> Result<CaInfo> {
        use x509_parser::prelude::FromDer;
        let bad = |what: &str| Error::new(format!("CA `{}`: {what}", self.name));
        let (_, pem) = x509_parser::pem::parse_x509_pem(self.pem.as_bytes())
            .map_err(|_| bad("malformed PEM certificate"))?;
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&pem.contents)
            .map_err(|_| bad("malformed certificate"))?;
        let key_type = match cert.public_key().parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("rsa-{}", rsa.key_size()),
            Ok(x509_parser::public_key::PublicKey::EC(ec)) => format!("ecdsa-p{}", ec.key_size()),
            _ if cert.public_key().algorithm.algorithm
                == x509_parser::oid_registry::OID_SIG_ED25519 =>
            {
                "ed25519".to_string()
            }
            _ => "unknown".to_string(),
        };
        Ok(CaInfo {
            key_type,
            subject: cert.subject().to_string(),
            not_after: cert
                .validity()
                .not_after
                .to_datetime()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            sha256: sha256_hex(&pem.contents),
        })
    }
}

impl Pki {
    pub fn new(dir: impl Into<PathBuf>) -> Pki {
        Pki { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ca_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn cert_path(&self, name: &str) -> PathBuf {
        self.ca_dir(name).join("ca.crt")
    }

    /// Whether anything of the CA is on disk. A half-present CA counts as
    /// present: it must be looked at by a person, not replaced.
    pub fn exists(&self, name: &str) -> bool {
        self.ca_dir(name).exists()
    }

    /// The CA with its private key, for signing.
    pub fn signer(&self, name: &str) -> Result<super::Signer> {
        if !self.exists(name) {
            return Err(Error::new(format!(
                "CA `{name}` does not exist in {} (run `coregen ca init {name}`)",
                self.dir.display()
            )));
        }
        let cert = self.load_cert(name)?;
        let key_path = self.ca_dir(name).join("ca.key");
        let key =
            fs::read_to_string(&key_path).map_err(|e| Error::io(&key_path, "read CA key", e))?;
        super::Signer::new(name, cert.pem, &key)
    }

    pub fn state_db_path(&self) -> PathBuf {
        self.dir.join("state.db")
    }

    pub fn load_cert(&self, name: &str) -> Result<CaCert> {
        let path = self.cert_path(name);
        let pem =
            fs::read_to_string(&path).map_err(|e| Error::io(&path, "read CA certificate", e))?;
        if !pem.starts_with("-----BEGIN CERTIFICATE-----") {
            return Err(Error::new(format!(
                "{} does not hold a PEM certificate",
                path.display()
            )));
        }
        Ok(CaCert {
            name: name.to_string(),
            pem,
        })
    }

    /// Creates the CA `name`. Refuses, changing nothing, when any part of it
    /// exists. The key and certificate are written into a fresh private
    /// folder that is then renamed into place, so an interrupted init leaves
    /// no half-made CA behind.
    pub fn init(&self, name: &str, spec: &CaSpec, cluster: &str) -> Result<CaCert> {
        let target = self.ca_dir(name);
        if self.exists(name) {
            return Err(Error::new(format!(
                "CA `{name}` already exists at {}; coregen never overwrites a CA",
                target.display()
            )));
        }
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| Error::io(&self.dir, "create", e))?;

        let key = spec.key_type.generate().map_err(|e| {
            Error::new(format!(
                "cannot generate the {} key of CA `{name}`",
                spec.key_type
            ))
            .with_source(e)
        })?;
        let params = ca_params(name, spec, cluster)?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| Error::new(format!("cannot self-sign CA `{name}`")).with_source(e))?;

        let staging = tempfile::Builder::new()
            .prefix(&format!(".{name}.new-"))
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(&self.dir)
            .map_err(|e| Error::io(&self.dir, "create a folder in", e))?;
        write_new(
            &staging.path().join("ca.key"),
            key.serialize_pem().as_bytes(),
            0o600,
        )?;
        write_new(&staging.path().join("ca.crt"), cert.pem().as_bytes(), 0o644)?;
        // The rename is the commit point; a racing init loses here rather
        // than replacing the winner's CA, because rename(2) refuses to
        // replace a non-empty folder.
        fs::rename(staging.path(), &target).map_err(|e| Error::io(&target, "create", e))?;
        let _ = staging.keep();
        sync_dir(&self.dir);
        Ok(CaCert {
            name: name.to_string(),
            pem: cert.pem(),
        })
    }
}

fn ca_params(name: &str, spec: &CaSpec, cluster: &str) -> Result<CertificateParams> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, cluster);
    dn.push(DnType::CommonName, format!("{cluster} {name} CA"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(i64::from(spec.validity_days));
    params.serial_number = Some(random_serial()?);
    Ok(params)
}

fn write_new(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(path, "create", e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, "write", e))
}

/// Makes a rename durable. Failure only weakens durability, so it is ignored.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::KeyType;

    fn spec() -> CaSpec {
        CaSpec {
            key_type: KeyType::EcdsaP256,
            validity_days: 30,
            usages: crate::pki::Usage::ALL.to_vec(),
        }
    }

    #[test]
    fn init_writes_a_private_key_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::new(dir.path().join("pki"));
        let cert = pki.init("etcd", &spec(), "demo").unwrap();
        assert!(cert.pem.starts_with("-----BEGIN CERTIFICATE-----"));

        let key_path = pki.ca_dir("etcd").join("ca.key");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key_path), 0o600);
        assert_eq!(mode(&pki.ca_dir("etcd")), 0o700);
        let key_before = fs::read(&key_path).unwrap();

        let err = pki.init("etcd", &spec(), "demo").unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(fs::read(&key_path).unwrap(), key_before);
        assert_eq!(pki.load_cert("etcd").unwrap(), cert);
        // Nothing staged is left next to the CA.
        let entries: Vec<_> = fs::read_dir(pki.dir()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }
}
