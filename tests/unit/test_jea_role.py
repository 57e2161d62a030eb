"""The JEA role (jea/AovpnRras/RoleCapabilities/AovpnRras.psrc) allows exactly what the adapter sends.

Derived from the code, not from a second list kept by hand:
- the commands, parameters and literal values: an AST scan of providers/rras/*.py for
  ``<session>.invoke(...)`` (command names literal or module constants, parameter dicts, ``switches=``)
  and ``invoke_script(...)``;
  a call in the ``else`` of ``if ...configuration_name`` is sent to the default configuration only (the
  fixed script and what replaces the role's functions), every other call may reach the JEA endpoint;
- the registry keys, value names and kinds: the RRAS component built under Pulumi's mocks for declarations
  that use every setting (components/rras.py), the TLS ones (TlsRegistryValueProvider) apart;
- the services: those the restart and the removal restart (providers/rras/objects.py, removal.py,
  components/rras.py ``_revert_services``), the reboot ("Computer") aside.
The .psrc is read with emulators/winrm/psd1.py, the reader the twin serves it with.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.declaration import IpsecPolicy, parse_clusters
from emulators.winrm.cmdlets import COMMANDS
from emulators.winrm.cmdlets.external import normalise
from emulators.winrm.jea import CLEAR_ROOT_BODY, SessionConfiguration, function_body
from emulators.winrm.psd1 import Psd1Error, ScriptBlock, get, load, parse
from providers.rras import hardening, removal
from tests.unit.support import BASE, cluster

ROOT = Path(__file__).resolve().parents[2]
PSRC = ROOT / "jea" / "AovpnRras" / "RoleCapabilities" / "AovpnRras.psrc"
PSSC = ROOT / "jea" / "AovpnRras.pssc"
#: PowerShell's common parameters: always allowed in JEA, never listed (Microsoft Learn, JEA Role
#: Capabilities)
COMMON = {"erroraction", "warningaction", "informationaction", "verbose", "debug", "errorvariable"}
#: Parameters whose value is data rather than a name of something on the node, and why they stay free.
FREE = {
    ("New-ItemProperty", "Value"): "the registry value's data (its key and name are constrained)",
    **{
        ("Set-VpnServerConfiguration", p): "an enum or number the cmdlet's own parameter type constrains"
        for p in IpsecPolicy().as_cmdlet_parameters()
    },
}
MGMT = {"endpoint": "https://127.0.0.1:5986/wsman", "user": "LAB\\svc", "passwordSecret": "rrasPassword"}
THUMBPRINT = "71899A67BF33AF31BEFDC071F8F733B183856332"


# -- what the adapter sends (AST) ----------------------------------------------------------------------------
@dataclass
class Sent:
    """One command as the adapter sends it: parameters, and the literal values seen per parameter."""

    name: str
    parameters: set[str] = field(default_factory=set)
    switches: set[str] = field(default_factory=set)
    literals: dict[str, set[str]] = field(default_factory=dict)
    computed: set[str] = field(default_factory=set)
    where: list[str] = field(default_factory=list)


@dataclass
class Scan:
    jea: dict[str, Sent] = field(default_factory=dict)
    default_only: list[str] = field(default_factory=list)
    scripts_to_jea: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)


def _constants(tree: ast.Module) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                pass
    return found


def _mentions_configuration(test: ast.expr) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "configuration_name" for n in ast.walk(test))


def _branch(parents: dict[ast.AST, ast.AST], node: ast.AST) -> str:
    """'default' when the call sits in the else of an ``if ...configuration_name`` test, else 'any'."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.If) and _mentions_configuration(parent.test) and child in parent.orelse:
            return "default"
        child, parent = parent, parents.get(parent)
    return "any"


def _function_of(parents: dict[ast.AST, ast.AST], node: ast.AST) -> ast.AST | None:
    parent = parents.get(node)
    while parent is not None and not isinstance(parent, ast.FunctionDef):
        parent = parents.get(parent)
    return parent


def _resolve(expr: ast.expr | None, constants: dict[str, Any]) -> Any:
    if isinstance(expr, ast.Constant):
        return expr.value
    if isinstance(expr, ast.Name) and expr.id in constants:
        return constants[expr.id]
    return None


def _unpacked(expr: ast.expr) -> set[str]:
    """The parameters a ``**`` in a parameter dict stands for, from the code that fills it."""
    text = ast.unparse(expr)
    if text == "props['policy']":  # IpsecPolicyProvider: the declaration's as_cmdlet_parameters()
        return {
            k
            for preset in ("baseline", "enhanced")
            for k in IpsecPolicy(preset=preset).as_cmdlet_parameters()
        }
    raise AssertionError(f"a ** in a parameter dict the test cannot expand: {text}")


def scan() -> Scan:
    result = Scan()
    for path in sorted((ROOT / "providers" / "rras").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        constants = _constants(tree)
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
                continue
            if call.func.attr not in ("invoke", "invoke_script") or not call.args:
                continue
            if isinstance(call.func.value, ast.Name) and call.func.value.id == "ps":
                continue  # pypsrp's PowerShell.invoke() inside NodeSession itself
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            branch = _branch(parents, call)
            if call.func.attr == "invoke_script":
                (result.default_only if branch == "default" else result.scripts_to_jea).append(where)
                continue
            name = _resolve(call.args[0], constants)
            if not isinstance(name, str):
                result.unresolved.append(f"{where}: {ast.unparse(call.args[0])}")
                continue
            if branch == "default":
                result.default_only.append(f"{where}: {name}")
                continue
            sent = result.jea.setdefault(name, Sent(name))
            sent.where.append(where)
            params = call.args[1] if len(call.args) > 1 else None
            params = next((k.value for k in call.keywords if k.arg == "parameters"), params)
            if isinstance(params, ast.Name):  # a dict assigned in the same function
                function = _function_of(parents, call)
                assigned = [
                    n.value
                    for n in ast.walk(function or tree)
                    if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == params.id for t in n.targets)
                ]
                assert len(assigned) == 1, f"{where}: parameters {params.id} assigned {len(assigned)} times"
                params = assigned[0]
            if params is not None and not (isinstance(params, ast.Constant) and params.value is None):
                assert isinstance(params, ast.Dict), f"{where}: parameters are not a dict literal"
                for key, value in zip(params.keys, params.values, strict=True):
                    if key is None:
                        sent.parameters |= _unpacked(value)
                        sent.computed |= _unpacked(value)
                        continue
                    pname = _resolve(key, constants)
                    assert isinstance(pname, str), f"{where}: a computed parameter name"
                    sent.parameters.add(pname)
                    literal = _resolve(value, constants)
                    if isinstance(literal, str):
                        sent.literals.setdefault(pname, set()).add(literal)
                    elif not (isinstance(value, ast.Constant) and value.value is None):
                        sent.computed.add(pname)
            switches = next((k.value for k in call.keywords if k.arg == "switches"), None)
            if switches is not None:
                value = _resolve(switches, constants)
                if value is None:
                    value = ast.literal_eval(switches)
                sent.switches |= set(value)
    return result


# -- what the component declares (mocks) ---------------------------------------------------------------------
def _declarations() -> list[dict[str, Any]]:
    nodes = [{**n, "management": MGMT} for n in BASE["nodes"]]
    ikev2 = {"crlCheck": True, "rootCertificateThumbprint": THUMBPRINT, "idleTimeoutMinutes": 10}
    ikev2["networkOutageMinutes"] = 2
    return [
        cluster(
            name="vpn-a",
            nodes=nodes,
            protocols=["ikev2", "sstp"],
            clientAddress="translated",
            ikev2=ikev2,
            sstp={"tlsOffload": {"certificateSecret": "c", "privateKeySecret": "k"}},
        ),
        cluster(
            name="vpn-b",
            virtualAddress="203.0.113.20",
            nodes=[{**n, "address": n["address"].replace(".1", ".2", 1)} for n in nodes],
            protocols=["ikev2", "sstp"],
            sstp={"tlsHardening": "security"},
        ),
    ]


def registry_values(mocks: Any) -> pulumi.Output[list[tuple[str, str, str, bool]]]:
    """(path, name, kind, tls) of every registry value resource the declarations make."""
    from components.cluster import VpnCluster

    comps = [VpnCluster(c, "aovpn-iac:aovpn/test") for c in parse_clusters(_declarations())]

    def collect(_: Any) -> list[tuple[str, str, str, bool]]:
        return sorted(
            {
                (r.inputs["path"], r.inputs["name"], r.inputs["kind"], "-tls-" in r.name)
                for r in mocks.resources
                if r.custom and "path" in r.inputs and "name" in r.inputs
            }
        )

    return pulumi.Output.all(*[c.objects for c in comps]).apply(collect)


def services_restarted() -> set[str]:
    """What the restart, the removal and the revert restart, by name (the reboot is "Computer")."""
    found: set[str] = set(removal.DEFAULT_SERVICES)
    objects_tree = ast.parse((ROOT / "providers" / "rras" / "objects.py").read_text())
    for node in ast.walk(objects_tree):
        if isinstance(node, ast.FunctionDef) and node.name == "_needed":
            for loop in ast.walk(node):
                if isinstance(loop, ast.For) and isinstance(loop.iter, ast.Tuple):
                    found |= set(ast.literal_eval(loop.iter))
    component = ast.parse((ROOT / "components" / "rras.py").read_text())
    for node in ast.walk(component):
        if isinstance(node, ast.FunctionDef) and node.name == "_revert_services":
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and ret.value is not None:
                    found |= {c.value for c in ast.walk(ret.value) if isinstance(c, ast.Constant)} - {None}
    assert found, "no restarted service found in the code"
    return {s for s in found if isinstance(s, str)} - {"Computer"}


# -- the role ------------------------------------------------------------------------------------------------
def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def role() -> dict[str, Any]:
    return load(PSRC)


def visible(table: dict[str, Any]) -> dict[str, tuple[str, dict[str, dict[str, Any]] | None]]:
    """name -> (cmdlet|function, {parameter: its hashtable} or None when unrestricted)."""
    out: dict[str, tuple[str, dict[str, dict[str, Any]] | None]] = {}
    for key, kind in (("VisibleCmdlets", "cmdlet"), ("VisibleFunctions", "function")):
        for entry in _list(get(table, key)):
            if isinstance(entry, str):
                out[entry] = (kind, None)
                continue
            params = get(entry, "Parameters")
            restricted = None if params is None else {get(p, "Name"): p for p in _list(params)}
            out[get(entry, "Name")] = (kind, restricted)
    return out


def test_the_scan_sees_every_command_the_adapter_sends() -> None:
    found = scan()
    assert not found.unresolved, (
        f"command names the scan cannot read (name them literally): {found.unresolved}"
    )
    assert not found.scripts_to_jea, (
        f"scripts a JEA endpoint (NoLanguage) would refuse, not behind `if ...configuration_name`: "
        f"{found.scripts_to_jea}"
    )
    # the scan is not empty-handed: what every node needs is there
    assert {"Get-ItemProperty", "New-ItemProperty", "Restart-Service", "Set-VpnServerConfiguration"} <= set(
        found.jea
    )
    assert any("invoke_script" not in d and "Set-VpnAuthProtocol" in d for d in found.default_only)


def test_the_role_lists_exactly_the_commands_sent() -> None:
    sent = scan().jea
    allowed = visible(role())
    assert sorted(allowed) == sorted(sent), "the role and the adapter differ: " + str(
        {"only in the role": sorted(set(allowed) - set(sent)), "only sent": sorted(set(sent) - set(allowed))}
    )
    functions = {get(f, "Name") for f in _list(get(role(), "FunctionDefinitions"))}
    for name, (kind, _) in allowed.items():
        if name in functions:
            assert kind == "function", f"{name}: a FunctionDefinitions function must be in VisibleFunctions"
            continue
        spec = COMMANDS.get(name.lower())
        assert spec is not None and spec.name == name, f"{name}: not a command the twin knows"
        # VisibleCmdlets matches cmdlets, VisibleFunctions functions (the RemoteAccess CDXML commands)
        assert (kind == "function") == spec.is_function, f"{name} is listed as a {kind}"


def test_each_command_allows_exactly_the_parameters_sent() -> None:
    sent = scan().jea
    functions = {get(f, "Name") for f in _list(get(role(), "FunctionDefinitions"))}
    for name, (_, params) in visible(role()).items():
        used = {p for p in sent[name].parameters | sent[name].switches if p.lower() not in COMMON}
        if name in functions:  # its own param() block (test_the_role_functions_are_the_adapter_fixed_texts)
            continue
        if params is None:
            assert not used and name.startswith("Get-"), f"{name}: unrestricted, but sent {sorted(used)}"
            continue
        listed = set(params)
        assert listed == used, f"{name}: role lists {sorted(listed)}, the adapter sends {sorted(used)}"
        assert not {p.lower() for p in listed} & COMMON, f"{name}: common parameters are never listed"


@pulumi.runtime.test
def test_names_on_the_node_are_constrained_to_what_the_project_manages(mocks: Any) -> Any:
    def check(values: list[tuple[str, str, str, bool]]) -> None:
        assert len(values) >= 12, values  # every setting of the two declarations
        paths = {v[0] for v in values}
        names = {v[1] for v in values}
        kinds = {v[2] for v in values}
        tls_paths = {v[0] for v in values if v[3]}
        sent = scan().jea
        services = services_restarted()
        derived: dict[tuple[str, str], set[str]] = {
            ("Get-ItemProperty", "Path"): paths | sent["Get-ItemProperty"].literals.get("Path", set()),
            ("New-ItemProperty", "Path"): paths,
            ("New-ItemProperty", "Name"): names,
            ("New-ItemProperty", "PropertyType"): kinds,
            ("Remove-ItemProperty", "Path"): paths,
            ("Remove-ItemProperty", "Name"): names,
            ("New-Item", "Path"): tls_paths,
            ("Restart-Service", "Name"): services,
            ("Get-Service", "Name"): services,
        }
        patterns = {("Get-Item", "LiteralPath")}
        for name, (_, params) in visible(role()).items():
            for pname, entry in (params or {}).items():
                key = (name, pname)
                vs, vp = get(entry, "ValidateSet"), get(entry, "ValidatePattern")
                if pname in sent[name].switches:
                    assert vs is None and vp is None, f"{key}: a switch takes no values"
                elif key in patterns:
                    assert vp is not None and vs is None, f"{key}: needs a ValidatePattern"
                elif pname in sent[name].computed and key in derived:
                    assert sorted(_list(vs)) == sorted(derived[key]), f"{key}: ValidateSet"
                elif pname in sent[name].computed:
                    assert key in FREE, f"{key}: a value computed by the adapter is unconstrained"
                    assert vs is None and vp is None, f"{key}: constrained, though listed as free"
                elif key in derived:
                    assert sorted(_list(vs)) == sorted(derived[key]), f"{key}: ValidateSet"
                else:  # only literal values are sent: exactly those
                    assert sorted(_list(vs)) == sorted(sent[name].literals.get(pname, set())), key
        # the services are those the brief names, as far as the code restarts them
        assert services == {"IKEEXT", "RemoteAccess"}
        # providers: the registry for HKLM:, the certificate store for Cert:
        expected = {"Registry"} if all(p.startswith("HKLM:") for p in paths) else set()
        expected |= {"Certificate"} if hardening.ROOT_STORE.startswith("Cert:") else set()
        assert set(_list(get(role(), "VisibleProviders"))) == expected

    return registry_values(mocks).apply(check)


def test_the_certificate_pattern_admits_a_root_thumbprint_only() -> None:
    _, params = visible(role())["Get-Item"]
    assert params is not None
    pattern = get(params["LiteralPath"], "ValidatePattern")

    def admits(value: str) -> bool:  # ValidatePattern: Regex.IsMatch, case-insensitive
        return re.search(pattern, value, re.IGNORECASE) is not None

    assert admits(hardening.ROOT_STORE + THUMBPRINT)
    for refused in (
        "Cert:\\LocalMachine\\My\\" + THUMBPRINT,
        hardening.ROOT_STORE + THUMBPRINT + "\\..\\..\\My",
        hardening.ROOT_STORE + THUMBPRINT[:39],
        hardening.ROOT_STORE + "*",
        "HKLM:\\SAM",
    ):
        assert not admits(refused), refused


def test_the_role_functions_are_the_adapter_fixed_texts() -> None:
    definitions = {get(f, "Name"): get(f, "ScriptBlock") for f in _list(get(role(), "FunctionDefinitions"))}
    assert set(definitions) == {hardening.SET_ROOT_FUNCTION, hardening.CLEAR_ROOT_FUNCTION}
    set_root = definitions[hardening.SET_ROOT_FUNCTION]
    assert isinstance(set_root, ScriptBlock)
    assert function_body(set_root) == normalise(textwrap.dedent(hardening.SET_ROOT_SCRIPT))
    clear = definitions[hardening.CLEAR_ROOT_FUNCTION]
    assert isinstance(clear, ScriptBlock) and function_body(clear) == CLEAR_ROOT_BODY
    # what the default configuration gets instead: the same cmdlet, the same $null
    assert "Set-VpnAuthProtocol -RootCertificateNameToAccept $null" in CLEAR_ROOT_BODY
    sent = scan().jea
    assert sent[hardening.SET_ROOT_FUNCTION].parameters == {"Thumbprint"}  # the param() block's one
    assert "[ValidatePattern('^[0-9A-F]{40}$')]" in set_root.text
    assert not sent[hardening.CLEAR_ROOT_FUNCTION].parameters and "param(" not in clear.text


def test_the_session_configuration_is_a_restricted_virtual_account_endpoint() -> None:
    pssc = load(PSSC)
    assert get(pssc, "SessionType") == "RestrictedRemoteServer"
    assert get(pssc, "RunAsVirtualAccount") is True
    assert str(get(pssc, "TranscriptDirectory")).startswith("C:\\")
    roles = get(pssc, "RoleDefinitions")
    assert [get(r, "RoleCapabilities") for r in roles.values()] == [PSRC.stem]
    # the role capability is where JEA looks for it: <module>/RoleCapabilities/<name>.psrc, the module
    # folder holding a manifest of its own name
    module = PSRC.parent.parent
    assert (module / f"{module.name}.psd1").is_file() and PSRC.parent.name == "RoleCapabilities"
    assert get(load(module / f"{module.name}.psd1"), "RootModule") == f"{module.name}.psm1"
    served = SessionConfiguration.load(ROOT / "jea", PSSC.stem)
    assert served.no_language and set(served.functions) == {
        hardening.SET_ROOT_FUNCTION.lower(),
        hardening.CLEAR_ROOT_FUNCTION.lower(),
    }


@pytest.mark.parametrize(
    "text",
    [
        "@{ A = Get-Process }",
        "@{ A = $env:PATH }",
        "@{ A = 'x'; a = 'y' }",
        '@{ A = "$x" }',
        "@{ A = 'unterminated }",
        "@{ A = [int]1 }",
        "@{ A = 1 } extra",
    ],
)
def test_the_data_file_reader_refuses_what_is_not_data(text: str) -> None:
    with pytest.raises(Psd1Error):
        parse(text)


def test_the_data_file_reader_reads_the_subset() -> None:
    table = parse(
        "# c\n@{\n  A = 'it''s'; 'B c' = @(\n 1\n 'two', 'three'\n)\n <# block #> D = $TRUE\n"
        "  E = @{ F = { param($x) if ($x) { '}' } } }\n  G = $null\n}\n"
    )
    assert table["A"] == "it's" and table["B c"] == [1, "two", "three"] and table["D"] is True
    assert isinstance(table["E"]["F"], ScriptBlock) and "'}'" in table["E"]["F"].text
    assert table["G"] is None
