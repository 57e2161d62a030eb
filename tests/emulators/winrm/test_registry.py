"""The registry cmdlets on the WinRM twin: DWORD/QWORD/binary values, -Force, removal, missing paths and
names, bad value kinds, and which service restart makes a value effective.
"""

from __future__ import annotations

import pytest
from pypsrp.exceptions import WSManFaultError
from pypsrp.powershell import PowerShell

from emulators.common import RunningTwin
from tests.emulators.winrm.client import IKEEXT, IKEV2, PSARG, SSTP, Node, ps_errors, ps_props


def test_registry_dword_roundtrip_force_and_types(twin: RunningTwin, node: Node) -> None:
    before = node.run("Get-ItemProperty", Path=IKEV2)
    assert "EnableServerFragmentation" not in ps_props(before.output[0])  # absent: just not a property

    created = node.run(
        "New-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation", Value=1, PropertyType="DWord"
    )
    assert not created.streams.error and ps_props(created.output[0])["EnableServerFragmentation"] == 1
    again = node.run(
        "New-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation", Value=1, PropertyType="DWord"
    )
    ((fqid, category, text),) = ps_errors(again)
    assert fqid == "System.IO.IOException,Microsoft.PowerShell.Commands.NewItemPropertyCommand"
    assert category.startswith("ResourceExists:") and text == "The property already exists."
    assert not again.had_errors  # non-terminating

    forced = node.run(
        "New-ItemProperty",
        "Force",
        Path=IKEEXT,
        Name="IkeNumEstablishedForInitialQuery",
        Value=50000,
        PropertyType="DWord",
    )
    assert not forced.streams.error
    props = ps_props(node.run("Get-ItemProperty", Path=IKEEXT).output[0])
    assert props["IkeNumEstablishedForInitialQuery"] == 50000
    assert props["PSChildName"] == "Parameters" and props["PSPath"].startswith(
        "Microsoft.PowerShell.Core\\Registry::"
    )

    # A DWORD above 0x7FFFFFFF reads back as a negative Int32 (sent as a string: see below).
    node.run(
        "New-ItemProperty",
        "Force",
        Path=IKEV2,
        Name="CertAuthFlags",
        Value="0xFFFFFFFF",
        PropertyType="DWord",
    )
    assert ps_props(node.run("Get-ItemProperty", Path=IKEV2).output[0])["CertAuthFlags"] == -1
    # pypsrp 0.9 serializes every Python int as <I32>: 0xFFFFFFFF is a message PowerShell cannot read.
    with pytest.raises(WSManFaultError) as info:
        node.run(
            "New-ItemProperty",
            "Force",
            Path=IKEV2,
            Name="CertAuthFlags",
            Value=0xFFFFFFFF,
            PropertyType="DWord",
        )
    assert info.value.code == 2150858817
    node.run("New-ItemProperty", "Force", Path=IKEV2, Name="CertAuthFlags", Value=4, PropertyType="DWord")
    assert (
        ps_props(node.run("Get-ItemProperty", Path=IKEV2).output[0])["CertAuthFlags"] == 4
    )  # the pool still works

    # Only the IKEEXT restart makes the IKEEXT value effective.
    runtime = twin.admin().state()["runtime"]
    assert set(runtime["pending_restart"]) == {"IKEEXT", "RemoteAccess"}
    node.run("Restart-Service", "Force", Name="IKEEXT")
    assert twin.admin().state()["runtime"]["pending_restart"] == ["RemoteAccess"]


def test_registry_binary_hash_and_removal(node: Node) -> None:
    digest = bytes(range(32))
    ps = node.run(
        "New-ItemProperty",
        "Force",
        Path=SSTP,
        Name="SHA256CertificateHash",
        Value=digest,
        PropertyType="Binary",
    )
    assert not ps.streams.error
    ps = node.run("New-ItemProperty", "Force", Path=SSTP, Name="UseHttps", Value=0, PropertyType="DWord")
    props = ps_props(node.run("Get-ItemProperty", Path=SSTP).output[0])
    assert props["SHA256CertificateHash"] == digest and isinstance(props["SHA256CertificateHash"], bytes)
    assert props["UseHttps"] == 0

    removed = node.run("Remove-ItemProperty", Path=SSTP, Name="SHA1CertificateHash")
    assert not removed.streams.error
    assert "SHA1CertificateHash" not in ps_props(node.run("Get-ItemProperty", Path=SSTP).output[0])
    again = node.run("Remove-ItemProperty", Path=SSTP, Name="SHA1CertificateHash")
    ((fqid, _category, text),) = ps_errors(again)
    assert fqid == PSARG + "Microsoft.PowerShell.Commands.RemoveItemPropertyCommand"
    assert text.startswith("Property SHA1CertificateHash does not exist at path HKEY_LOCAL_MACHINE\\SYSTEM")
    assert not again.had_errors

    # A hex string is not a byte[] (docs/rras.md#registry-value-types).
    bad = node.run(
        "New-ItemProperty",
        "Force",
        Path=SSTP,
        Name="SHA256CertificateHash",
        Value="AABB",
        PropertyType="Binary",
    )
    assert bad.streams.error and "System.Byte" in ps_errors(bad)[0][2]
    assert ps_props(node.run("Get-ItemProperty", Path=SSTP).output[0])["SHA256CertificateHash"] == digest


def test_registry_missing_paths_names_and_bad_types(node: Node) -> None:
    missing_key = r"HKLM:\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002"
    ps = node.run("Get-ItemProperty", Path=missing_key)
    ((fqid, category, text),) = ps_errors(ps)
    assert fqid == "PathNotFound,Microsoft.PowerShell.Commands.GetItemPropertyCommand"
    assert (
        category.startswith("ObjectNotFound:")
        and text == f"Cannot find path '{missing_key}' because it does not exist."
    )
    assert not ps.had_errors

    named = node.run("Get-ItemProperty", Path=IKEV2, Name="EnableServerFragmentation")
    assert named.output == []
    assert ps_errors(named)[0][0] == PSARG + "Microsoft.PowerShell.Commands.GetItemPropertyCommand"

    stop = PowerShell(node.pool)
    stop.add_cmdlet("Get-ItemProperty").add_parameter("Path", missing_key).add_parameter(
        "ErrorAction", "Stop"
    )
    stop.invoke()
    assert stop.had_errors and stop.streams.error[0].fq_error.startswith("PathNotFound,")

    bad_kind = node.run("New-ItemProperty", Path=IKEV2, Name="X", Value=1, PropertyType="Dword32")
    assert bad_kind.had_errors
    fqid, _, text = ps_errors(bad_kind)[0]
    assert fqid == "CannotConvertArgumentNoMessage,Microsoft.PowerShell.Commands.NewItemPropertyCommand"
    assert "Microsoft.Win32.RegistryValueKind" in text
