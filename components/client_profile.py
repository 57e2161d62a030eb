"""The client side of the IPsec policy, generated from the same declaration as the servers.

Always On VPN clients must propose exactly the servers' custom policy or they fail with 13868
(ERROR_IPSEC_IKE_POLICY_MATCH); a ProfileXML with a CryptographySuite but NativeProtocolType Automatic is
reported to fail with 800, so IKEv2 is always emitted with a CryptographySuite (docs/rras.md#client-profile).
The CSP spells two values differently from the server cmdlets: server EncryptionMethod GCMAES128/GCMAES256 is
CSP AES_GCM_128/AES_GCM_256, server IntegrityCheckMethod SHA1 is CSP SHA196; the CSP has no ``None`` at all.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from components.declaration import IpsecPolicy

CSP_ENCRYPTION = {"GCMAES128": "AES_GCM_128", "GCMAES256": "AES_GCM_256"}
CSP_INTEGRITY = {"SHA1": "SHA196"}

# Element order of CryptographySuite as the VPNv2 CSP documentation lists it. Intune-deployed Windows 11
# profiles are reported to care about element order; the XSD order itself is [unverified] here.
CSP_ORDER = (
    "AuthenticationTransformConstants",
    "CipherTransformConstants",
    "EncryptionMethod",
    "IntegrityCheckMethod",
    "DHGroup",
    "PfsGroup",
)


class ClientProfileError(ValueError):
    """The policy cannot be expressed in a client profile."""


def csp_cryptography_suite(policy: IpsecPolicy) -> dict[str, str]:
    """The six CryptographySuite values in the VPNv2 CSP's spelling."""
    server = {
        "AuthenticationTransformConstants": policy.authentication_transform_constants,
        "CipherTransformConstants": policy.cipher_transform_constants,
        "EncryptionMethod": policy.encryption_method,
        "IntegrityCheckMethod": policy.integrity_check_method,
        "DHGroup": policy.dh_group,
        "PfsGroup": policy.pfs_group,
    }
    none = [k for k, v in server.items() if v == "None"]
    if none:
        raise ClientProfileError(
            f"{', '.join(none)}: None has no ProfileXML (VPNv2 CSP) value, so clients could not match "
            "the servers' policy"
        )
    suite = dict(server)
    suite["EncryptionMethod"] = CSP_ENCRYPTION.get(server["EncryptionMethod"], server["EncryptionMethod"])
    suite["IntegrityCheckMethod"] = CSP_INTEGRITY.get(
        server["IntegrityCheckMethod"], server["IntegrityCheckMethod"]
    )
    return {k: suite[k] for k in CSP_ORDER}


def native_profile_xml(policy: IpsecPolicy) -> str:
    """The ProfileXML ``<NativeProfile>`` fragment: NativeProtocolType IKEv2 and the CryptographySuite."""
    root = Element("NativeProfile")
    SubElement(root, "NativeProtocolType").text = "IKEv2"
    suite = SubElement(root, "CryptographySuite")
    for name, value in csp_cryptography_suite(policy).items():
        SubElement(suite, name).text = value
    return tostring(root, encoding="unicode")


def vpn_connection_ipsec_parameters(policy: IpsecPolicy) -> dict[str, Any]:
    """Parameters of ``Set-VpnConnectionIPsecConfiguration`` (CustomPolicy set, all six mandatory).

    The VpnClient cmdlet uses the server's spelling (GCMAES128, SHA1). ``-ConnectionName`` is the
    client's own connection name and is left to the caller.
    """
    csp_cryptography_suite(policy)  # the same policy must also be expressible in ProfileXML
    return {
        "AuthenticationTransformConstants": policy.authentication_transform_constants,
        "CipherTransformConstants": policy.cipher_transform_constants,
        "EncryptionMethod": policy.encryption_method,
        "IntegrityCheckMethod": policy.integrity_check_method,
        "PfsGroup": policy.pfs_group,
        "DHGroup": policy.dh_group,
    }
