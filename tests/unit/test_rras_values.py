"""The read-back value maps of providers/rras/values.py: every form a node may send (uint32, an enum object
whose ToString is the name, the name in any case) means the declaration's name; an unknown value is reported
as unknown and never equals a declared value; the IPsec policy's fetch and the service-status wait read
every form (docs/rras.md#value-maps, docs/rras.md#get-service-over-remoting)."""

from __future__ import annotations

from typing import Any

import pytest
from pypsrp.complex_objects import GenericComplexObject

from components import declaration
from emulators.winrm.psobjects import CIM_VALUES
from providers.rras import objects
from providers.rras.objects import IpsecPolicyProvider
from providers.rras.values import UNCONFIRMED, VALUE_MAPS, declared_name, service_status

#: The declaration's names per Set-VpnServerConfiguration parameter.
DECLARED = {
    "EncryptionMethod": declaration.ENCRYPTION_METHODS,
    "IntegrityCheckMethod": declaration.INTEGRITY_CHECK_METHODS,
    "CipherTransformConstants": declaration.CIPHER_TRANSFORMS,
    "AuthenticationTransformConstants": declaration.AUTH_TRANSFORMS,
    "DHGroup": declaration.DH_GROUPS,
    "PfsGroup": declaration.PFS_GROUPS,
}

#: A few numbers straight from the documents (docs/rras.md#value-maps), not from the table under test.
DOCUMENTED = [
    ("EncryptionMethod", 1, "DES3"),  # MS-RRASM CIPHER_3DES
    ("EncryptionMethod", 5, "GCMAES128"),  # IKEEXT_CIPHER_AES_GCM_128_16ICV
    ("IntegrityCheckMethod", 2, "SHA256"),  # MS-RRASM INTEGRITY_SHA_256
    ("CipherTransformConstants", 3, "AES128"),  # IPSEC_CIPHER_CONFIG_CBC_AES_128
    ("CipherTransformConstants", 8, "GCMAES256"),  # IPSEC_CIPHER_CONFIG_GCM_AES_256
    ("AuthenticationTransformConstants", 2, "SHA256128"),  # IPSEC_AUTH_CONFIG_HMAC_SHA_256_128
    ("DHGroup", 3, "Group14"),  # IKEEXT_DH_GROUP_14
    ("DHGroup", 4, "ECP256"),  # IKEEXT_DH_ECP_256
    ("PfsGroup", 3, "PFS2048"),  # IPSEC_PFS_2048
    ("PfsGroup", 6, "PFSMM"),  # IPSEC_PFS_MM
]


def enum_object(name: str, number: int, type_name: str = "Some.Enum") -> GenericComplexObject:
    """An enum value as pypsrp deserializes one: ToString the name, the number as its value."""
    obj = GenericComplexObject()
    obj.types = [type_name, "System.Enum", "System.ValueType", "System.Object"]
    obj.to_string = name
    obj.property_sets = [number]
    return obj


def test_every_declared_name_has_exactly_one_number() -> None:
    assert set(VALUE_MAPS) == set(DECLARED)
    for prop, names in DECLARED.items():
        assert set(VALUE_MAPS[prop]) == set(names), prop
        assert len(set(VALUE_MAPS[prop].values())) == len(names), f"{prop}: two names share a number"


def test_the_twin_reads_the_same_documents() -> None:
    """The twin (Windows' side) and the provider (the client's) keep their own tables; they must agree."""
    assert {p: CIM_VALUES[p] for p in VALUE_MAPS} == VALUE_MAPS


@pytest.mark.parametrize(("prop", "number", "name"), DOCUMENTED)
def test_documented_numbers(prop: str, number: int, name: str) -> None:
    assert declared_name(prop, number) == name


@pytest.mark.parametrize("prop", sorted(VALUE_MAPS))
def test_every_form_reads_as_the_declared_name(prop: str) -> None:
    for name, number in VALUE_MAPS[prop].items():
        forms: list[Any] = [
            number,
            str(number),
            name,
            name.upper(),
            f" {name.lower()} ",
            enum_object(name, number),
            enum_object(name.upper(), number),
        ]
        assert {declared_name(prop, form) for form in forms} == {name}, (prop, name)


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [
        ("EncryptionMethod", 99, "unknown EncryptionMethod 99"),
        ("EncryptionMethod", "99", "unknown EncryptionMethod 99"),
        ("CipherTransformConstants", 0, "unknown CipherTransformConstants 0"),
        ("DHGroup", "Group99", "unknown DHGroup 'Group99'"),
        ("PfsGroup", True, "unknown PfsGroup True"),
        ("PfsGroup", None, "unknown PfsGroup None"),
        ("IntegrityCheckMethod", -1, "unknown IntegrityCheckMethod -1"),
        # a name the map does not know is unknown even when its number is one the map gives another name
        ("EncryptionMethod", enum_object("GCMAES192", 2), "unknown EncryptionMethod 'GCMAES192'"),
    ],
)
def test_an_unknown_value_is_reported_and_never_equals_a_declared_one(
    prop: str, value: Any, expected: str
) -> None:
    assert declared_name(prop, value) == expected
    assert expected not in DECLARED[prop]


def test_unconfirmed_numbers_are_only_names_the_declaration_refuses() -> None:
    assert UNCONFIRMED
    for prop, name in UNCONFIRMED:
        assert name in VALUE_MAPS[prop]
        field = prop[0].lower() + prop[1:]
        with pytest.raises(declaration.DeclarationError, match=f"ipsec.{field}: None cannot be expressed"):
            declaration.parse_clusters([_cluster({field: name})])


def _cluster(ipsec: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "vpn",
        "virtualAddress": "192.0.2.10",
        "nodes": [{"name": "rras1", "address": "198.51.100.11"}],
        "loadBalancer": {
            "kind": "f5",
            "url": "https://192.0.2.1",
            "user": "automation",
            "passwordSecret": "f5Password",
        },
        "ipsec": ipsec,
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Running", "Running"),
        ("running", "Running"),
        (4, "Running"),
        (enum_object("Running", 4, "System.ServiceProcess.ServiceControllerStatus"), "Running"),
        ("StartPending", "StartPending"),
        (1, "Stopped"),
        (99, "unknown status 99"),
        (None, "unknown status None"),
    ],
)
def test_service_status_in_every_form(value: Any, expected: str) -> None:
    assert service_status(value) == expected


# -- the provider's reads ---------------------------------------------------------------------------------
class FakeNode:
    """A node session answering each cmdlet with the next of ``answers`` for it."""

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = answers
        self.calls: list[str] = []
        self.conn = type("Conn", (), {"name": "rras1"})()

    def invoke(self, cmdlet: str, parameters: dict[str, Any] | None = None, **_: Any) -> list[Any]:
        self.calls.append(cmdlet)
        return [self.answers[cmdlet].pop(0)]


def _answer(props: dict[str, Any]) -> GenericComplexObject:
    obj = GenericComplexObject()
    obj.types = ["Microsoft.Management.Infrastructure.CimInstance#VpnServerIPsecCustomConfiguration"]
    obj.adapted_properties = props
    return obj


BASELINE = declaration.IpsecPolicy().as_cmdlet_parameters()
LIFETIMES = {
    "SALifeTime": BASELINE["SALifeTimeSeconds"],
    "MMSALifeTime": BASELINE["MMSALifeTimeSeconds"],
    "SADataSizeForRenegotiation": BASELINE["SADataSizeForRenegotiationKilobytes"],
    "IdleDisconnect": 300,
}
CRYPTO = [p for p in BASELINE if p in VALUE_MAPS]


@pytest.mark.parametrize("form", ["uint32", "enum", "name"])
def test_the_policy_reads_back_equal_to_the_declaration_in_every_form(form: str) -> None:
    def sent(prop: str) -> Any:
        name = BASELINE[prop]
        number = {"EncryptionMethod": 2, "IntegrityCheckMethod": 2, "CipherTransformConstants": 3}.get(
            prop, {"AuthenticationTransformConstants": 2, "DHGroup": 3, "PfsGroup": 3}.get(prop)
        )
        assert number is not None and VALUE_MAPS[prop][name] == number  # the baseline's documented numbers
        return {"uint32": number, "enum": enum_object(name, number), "name": name}[form]

    props = {"CustomPolicy": True, **LIFETIMES, **{p: sent(p) for p in CRYPTO}}
    node = FakeNode({"Get-VpnServerConfiguration": [_answer(props)]})
    current = IpsecPolicyProvider().fetch(node, {"node": "rras1", "owner": "stack"})  # type: ignore[arg-type]
    assert current is not None and current["policy"] == BASELINE


def test_an_unknown_number_shows_as_a_difference() -> None:
    props = {"CustomPolicy": True, **LIFETIMES, **{p: VALUE_MAPS[p][BASELINE[p]] for p in CRYPTO}}
    props["EncryptionMethod"] = 99
    node = FakeNode({"Get-VpnServerConfiguration": [_answer(props)]})
    current = IpsecPolicyProvider().fetch(node, {"node": "rras1", "owner": "stack"})  # type: ignore[arg-type]
    assert current is not None
    assert current["policy"] == {**BASELINE, "EncryptionMethod": "unknown EncryptionMethod 99"}


def test_the_default_class_reads_as_no_custom_policy() -> None:
    default = GenericComplexObject()
    default.adapted_properties = {**LIFETIMES, "EncryptionType": "RequireEncryption", "TunnelType": 0}
    node = FakeNode({"Get-VpnServerConfiguration": [default]})
    current = IpsecPolicyProvider().fetch(node, {"node": "rras1", "owner": "stack"})  # type: ignore[arg-type]
    assert current is not None and current["policy"] == {}


@pytest.mark.parametrize(
    "stopped_then_running",
    [
        ("Stopped", "Running"),
        (1, 4),
        (
            enum_object("StartPending", 2, "System.ServiceProcess.ServiceControllerStatus"),
            enum_object("Running", 4, "System.ServiceProcess.ServiceControllerStatus"),
        ),
    ],
)
def test_the_restart_wait_reads_every_status_form(
    monkeypatch: pytest.MonkeyPatch, stopped_then_running: tuple[Any, Any]
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(objects.time, "sleep", sleeps.append)
    answers = [_service(s) for s in stopped_then_running]
    node = FakeNode({"Get-Service": answers})
    objects._wait_running(node, "RemoteAccess")  # type: ignore[arg-type]
    assert node.calls == ["Get-Service", "Get-Service"] and len(sleeps) == 1


def _service(status: Any) -> GenericComplexObject:
    obj = GenericComplexObject()
    obj.types = ["System.ServiceProcess.ServiceController", "System.Object"]
    obj.to_string = "RemoteAccess"
    obj.adapted_properties = {"ServiceName": "RemoteAccess", "Status": status}
    obj.extended_properties = {"Name": "RemoteAccess"}
    return obj
