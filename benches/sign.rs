//! Checking a CSR and issuing its certificate (the one issuance path, as
//! `coregen sign` and enrollment use it), in process, with an ECDSA P-256 CA and
//! with an RSA-2048 CA (a P-256 host key in both).
//!
//! `cargo bench --bench sign`

use std::hint::black_box;

use coregen::inventory::AbsPath;
use coregen::pki::{
    CaSpec, CertNames, Holder, KeyType, LeafRequest, Pki, Profile, Usage, check_csr,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn sign(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path().join("pki"));
    let host_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["node1".to_string()]).unwrap();
    // rcgen's default subject names no host; a CSR asks for names of its own.
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "node1");
    let csr = params.serialize_request(&host_key).unwrap().pem().unwrap();
    let names = CertNames {
        common_name: "node1".into(),
        dns_names: vec!["node1".into(), "node1.cluster.internal".into()],
        ip_addresses: vec!["10.0.0.11".parse().unwrap()],
        ..CertNames::default()
    };
    let path = |p: &str| p.parse::<AbsPath>().unwrap();

    let mut group = c.benchmark_group("check CSR and sign");
    group.throughput(Throughput::Elements(1));
    for (ca, key_type) in [
        ("ecdsa-p256", KeyType::EcdsaP256),
        ("rsa-2048", KeyType::Rsa2048),
    ] {
        let spec = CaSpec {
            key_type,
            validity_days: 3650,
            usages: Usage::ALL.to_vec(),
        };
        pki.init(ca, &spec, "bench").unwrap();
        let signer = pki.signer(ca).unwrap();
        let profile = Profile {
            name: "etcd-peer".into(),
            ca: ca.into(),
            usages: Usage::ALL.to_vec(),
            common_name: String::new(),
            dns_names: vec![],
            ip_addresses: vec![],
            organization: vec![],
            organizational_unit: vec![],
            key_types: KeyType::ALL.to_vec(),
            validity: Profile::DEFAULT_VALIDITY,
            renew_at: Default::default(),
            reload: vec![],
            key_path: path("/etc/x.key"),
            cert_path: path("/etc/x.crt"),
            ca_path: path("/etc/ca.crt"),
        };
        group.bench_function(format!("{ca} CA"), |b| {
            b.iter(|| {
                let checked = check_csr(black_box(csr.as_bytes())).unwrap();
                let leaf = LeafRequest {
                    holder: Holder {
                        name: "node1",
                        fqdn: "node1.cluster.internal",
                    },
                    profile: &profile,
                    names: names.clone(),
                    csr: &checked,
                };
                black_box(leaf.check().unwrap().issue(&signer).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sign);
criterion_main!(benches);
