"""pkilint for the tests: lint a certificate as the S/MIME BR type its policy OID names (as
`lint_cabf_smime_cert lint --detect`), a CRL as `lint_crl -t CRL -p BR`."""

from __future__ import annotations

from pkilint import loader, pkix, validation
from pkilint.cabf import cabf_crl, smime
from pkilint.pkix import certificate, extension, name
from pkilint.pkix import crl as pkix_crl

Severity = validation.ValidationFindingSeverity


def _findings(results, worst: Severity) -> list[str]:
    return [
        f"{found.finding.severity.name} {found.finding.code}: {found.message or ''} "
        f"at {result.node.path}"
        for result in results
        for found in result.finding_descriptions
        if found.finding.severity <= worst
    ]


def lint_smime_certificate(der: bytes, worst: Severity = Severity.WARNING) -> list[str]:
    """Findings of WARNING or worse; the type comes from the reserved policy OID (or fails)."""
    cert = loader.load_der_certificate(der, "certificate")
    detected = smime.determine_validation_level_and_generation(cert)
    assert detected is not None, "no S/MIME BR reserved policy OID in the certificate"
    level, generation = detected
    container = certificate.create_pkix_certificate_validator_container(
        smime.create_decoding_validators(),
        smime.create_subscriber_validators(level, generation),
    )
    return _findings(container.validate(cert.root), worst)


def smime_type(der: bytes) -> str:
    cert = loader.load_der_certificate(der, "certificate")
    level, generation = smime.determine_validation_level_and_generation(cert)
    return f"{level}-{generation}"


def lint_crl(der: bytes, worst: Severity = Severity.WARNING) -> list[str]:
    crl_type = pkix_crl.CertificateRevocationListType.CRL
    container = pkix_crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            pkix_crl.create_issuer_validator_container([]),
            pkix_crl.create_validity_validator_container(
                [cabf_crl.create_validity_period_validator(crl_type)]
            ),
            pkix_crl.create_extensions_validator_container([]),
            cabf_crl.CabfCrlReasonCodeAllowlistValidator(crl_type),
        ],
    )
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, "crl")
    return _findings(container.validate(document.root), worst)
