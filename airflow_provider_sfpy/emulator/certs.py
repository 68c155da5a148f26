"""Throw-away keys and self-signed certificates for the emulator, made with ``cryptography``.

Two uses: an RSA key pair whose certificate the emulator trusts for the JWT bearer flow (the test
signs assertions with the private key, as a connected app's integration would), and a TLS server
certificate for ``127.0.0.1``/``localhost`` that doubles as the CA bundle clients verify against.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=365)


@dataclass(frozen=True)
class KeyPair:
    """A private key and its self-signed certificate, both PEM text."""

    private_key_pem: str
    cert_pem: str


def _pem_key(key: CertificateIssuerPrivateKeyTypes) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _self_signed(
    key: CertificateIssuerPrivateKeyTypes, common_name: str, extensions: Sequence[tuple[x509.ExtensionType, bool]]
) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    public_key = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def jwt_key_pair(common_name: str = "sfpy-emulator-jwt") -> KeyPair:
    """RSA 2048 key and certificate for RS256 JWT bearer assertions."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return KeyPair(_pem_key(key), _self_signed(key, common_name, []))


def tls_key_pair(hosts: Sequence[str] = ("127.0.0.1", "localhost")) -> KeyPair:
    """A server certificate for ``hosts`` that is its own CA, so it works as a ``verify=`` bundle."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    extensions: list[tuple[x509.ExtensionType, bool]] = [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.SubjectAlternativeName(names), False),
    ]
    return KeyPair(_pem_key(key), _self_signed(key, "sfpy-emulator", extensions))
