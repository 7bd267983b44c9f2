//! Client certificates at the TLS layer: `serve` asks every client for
//! one and requires none.
//!
//! A host renewing presents its identity certificate; every other client
//! (Ignition, curl, a browser) presents nothing and is served as before.
//! The TLS layer checks only that a client holds the key of the
//! certificate it presents (the handshake signature, verified as webpki
//! does). Whether that certificate is a valid identity (the identity CA's
//! signature, its dates, the host, revocation) is checked by
//! `/v1/renew` itself, so that a refused identity gets an HTTP answer with
//! a JSON reason rather than a TLS alert that says nothing.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// The client certificate a connection presented, put on each of its
/// requests by the connection loop.
#[derive(Clone, Debug)]
pub struct ClientCert(pub Arc<CertificateDer<'static>>);

/// Asks for a client certificate, hinting at the identity CA, and accepts
/// any whose key the client proves it holds.
#[derive(Debug)]
pub struct AnyClientCert {
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyClientCert {
    /// `identity_subject` is the identity CA's subject, DER: clients that
    /// hold several certificates pick the one it issued.
    pub fn new(identity_subject: Vec<u8>) -> AnyClientCert {
        AnyClientCert {
            hints: vec![DistinguishedName::from(identity_subject)],
            algorithms: rustls::crypto::aws_lc_rs::default_provider()
                .signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Judged by the route that uses it, with a reason it can give.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
