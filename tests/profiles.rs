//! Profile keys beyond names: the subject's O and OU values, `validity`
//! as a duration, and `renew_at` and `reload` as the host reads them in
//! enroll.env. Certificates are signed from CSRs made by the real openssl
//! and read back with `openssl x509`.

mod common;

use common::{
    P256, coregen, edit_file, example_project, fresh_project, needs, openssl_csr, openssl_valid_in,
    openssl_verify, openssl_x509, run_err, run_ok,
};

/// The example's etcd-client profile, as the example writes it.
const CLIENT: &str = "# For etcdctl on the host: no unit reads it, so nothing to reload.\n\
                      validity = \"30d\"\n";

/// The example with etcd-client given `keys` instead of its validity,
/// without CAs.
fn project_with(keys: &str) -> tempfile::TempDir {
    let project = fresh_project();
    edit_file(project.path(), "hosts/cluster.toml", CLIENT, keys);
    project
}

/// The same with the fixed test CA certificates, to render with.
fn example_with(keys: &str) -> tempfile::TempDir {
    let project = example_project();
    edit_file(project.path(), "hosts/cluster.toml", CLIENT, keys);
    project
}

const SUBJECT_AND_10_MINUTES: &str = "organization = [\"system:nodes\", \"{{host.name}}-admins\"]\n\
     organizational_unit = [\"ops\", \"etcd\"]\n\
     validity = \"10m\"\n\
     renew_at = 0.75\n\
     reload = [\"etcd-member.service\", \"etcd-backup.timer\"]\n";

#[test]
fn a_signed_certificate_has_the_profiles_o_and_ou_values_and_lifetime() {
    if !needs(&["openssl"]) {
        return;
    }
    let project = project_with(SUBJECT_AND_10_MINUTES);
    run_ok(coregen(project.path()).args(["ca", "init"]));
    let dir = tempfile::tempdir().unwrap();
    // The CSR's own O and OU are ignored: the inventory decides.
    let subject = "/O=system:masters/OU=evil/CN=node1";
    let csr = openssl_csr(dir.path(), "client", P256, subject, &[]);
    let cert = dir.path().join("client.crt");
    run_ok(
        coregen(project.path())
            .args([
                "sign",
                "--host",
                "node1",
                "--profile",
                "etcd-client",
                "--csr",
            ])
            .arg(&csr.path)
            .arg("--out")
            .arg(&cert),
    );
    assert!(openssl_verify(
        &project.path().join("pki/etcd/ca.crt"),
        &cert
    ));

    let subject = openssl_x509(&cert, &["-subject", "-nameopt", "RFC2253"]);
    // RFC 2253 lists the RDNs last first.
    assert_eq!(
        subject.trim(),
        "subject=CN=node1,OU=etcd,OU=ops,O=node1-admins,O=system:nodes"
    );
    assert!(!subject.contains("system:masters") && !subject.contains("evil"));

    // 10 minutes from issuance: valid in 9, not in 11.
    let dates = openssl_x509(&cert, &["-dates"]);
    assert!(openssl_valid_in(&cert, 9 * 60), "{dates}");
    assert!(!openssl_valid_in(&cert, 11 * 60), "{dates}");
}

#[test]
fn certs_and_enroll_env_show_the_new_keys() {
    let project = example_with(SUBJECT_AND_10_MINUTES);
    let certs = String::from_utf8(
        run_ok(coregen(project.path()).args(["certs", "--host", "node1"])).stdout,
    )
    .unwrap();
    assert!(
        certs.contains("  O    system:nodes, node1-admins\n"),
        "{certs}"
    );
    assert!(certs.contains("  OU   ops, etcd\n"), "{certs}");
    assert!(
        certs.contains("  valid 10m  renew at 75%  reload etcd-member.service etcd-backup.timer\n"),
        "{certs}"
    );
    // The example's own profiles: 30 days, 2/3.
    assert!(
        certs.contains("  valid 30d  renew at 67%  reload etcd-member.service\n"),
        "{certs}"
    );

    let shown =
        String::from_utf8(run_ok(coregen(project.path()).args(["show", "--host", "node1"])).stdout)
            .unwrap();
    // node1's profiles: https, etcd-peer, etcd-server, etcd-client.
    for line in [
        "COREGEN_PROFILE_1_RENEW_AT='67'",
        "COREGEN_PROFILE_1_RELOAD=''",
        "COREGEN_PROFILE_2_RELOAD='etcd-member.service'",
        "COREGEN_PROFILE_4_RENEW_AT='75'",
        "COREGEN_PROFILE_4_RELOAD='etcd-member.service etcd-backup.timer'",
    ] {
        assert!(shown.contains(line), "no {line} in:\n{shown}");
    }
}

#[test]
fn bad_profile_keys_are_refused_with_their_place() {
    let cases = [
        (
            "validity = \"30d\"\nvalidity_days = 30\n",
            "profiles.etcd-client.validity_days: validity and validity_days both set",
        ),
        (
            "validity = \"30s\"\n",
            "profiles.etcd-client.validity: a certificate must live at least 1m, not 30s",
        ),
        (
            "validity = \"3651d\"\n",
            "profiles.etcd-client.validity: a certificate of CA `etcd` may not outlive it",
        ),
        (
            "renew_at = 1.0\n",
            "profiles.etcd-client.renew_at: renew_at must be a fraction strictly between 0 and 1",
        ),
        (
            "reload = [\"etcd member\"]\n",
            "profiles.etcd-client.reload",
        ),
    ];
    for (keys, want) in cases {
        let project = project_with(keys);
        let err = run_err(coregen(project.path()).args(["validate"]));
        assert!(err.contains("hosts/cluster.toml:"), "{keys}: {err}");
        assert!(err.contains(want), "{keys}: {err}");
    }
    // A name template that does not compile is refused when the project
    // loads, as the other names are.
    let project = project_with("organization = [\"{{#if}}\"]\n");
    let err = run_err(coregen(project.path()).args(["validate"]));
    assert!(
        err.contains("a name of [profiles.etcd-client] in hosts/cluster.toml"),
        "{err}"
    );
}
