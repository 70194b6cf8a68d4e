//! The keys and certificates one envtest server needs, made fresh for every start.
//!
//! A throwaway certificate authority signs the kube-apiserver's serving certificate (valid for
//! `127.0.0.1` and `localhost`); clients trust that authority through the kubeconfig. A
//! separate key signs and verifies service-account tokens. Nothing here is meant to protect
//! anything beyond the lifetime of one test: keys live in the envtest's temporary directory.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate and its private key, both PEM.
pub(crate) struct CertificateAndKey {
    pub(crate) certificate_pem: String,
    pub(crate) key_pem: String,
}

/// Everything the server side needs, generated in one go.
pub(crate) struct ServerPki {
    /// The authority clients must trust.
    pub(crate) ca_certificate_pem: String,
    /// The kube-apiserver's serving certificate, signed by the authority.
    pub(crate) serving: CertificateAndKey,
    /// PKCS#8 PEM of the ECDSA P-256 key that signs service-account tokens.
    pub(crate) service_account_key_pem: String,
    /// Its public half, which verifies them (kube-apiserver reads no public key out of a
    /// PKCS#8 private key file).
    pub(crate) service_account_public_key_pem: String,
}

impl ServerPki {
    /// Generates a new authority, serving certificate and service-account key.
    pub(crate) fn generate() -> Result<Self, rcgen::Error> {
        let authority = certificate_authority()?;
        let serving = serving_certificate(&authority)?;
        let service_account_key = KeyPair::generate()?;
        Ok(Self {
            ca_certificate_pem: authority.pem(),
            serving,
            service_account_key_pem: service_account_key.serialize_pem(),
            service_account_public_key_pem: service_account_key.public_key_pem(),
        })
    }
}

fn certificate_authority() -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-envtest certificate authority");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

fn serving_certificate(
    authority: &CertifiedIssuer<'static, KeyPair>,
) -> Result<CertificateAndKey, rcgen::Error> {
    // The IP SAN is what clients verify: every kubeconfig names https://127.0.0.1:PORT.
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-envtest kube-apiserver");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let certificate = params.signed_by(&key, authority)?;
    Ok(CertificateAndKey {
        certificate_pem: certificate.pem(),
        key_pem: key.serialize_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_material_is_pem() {
        let pki = ServerPki::generate().unwrap();
        assert!(pki
            .ca_certificate_pem
            .starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki
            .serving
            .certificate_pem
            .starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pki
            .serving
            .key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(pki
            .service_account_key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}
