"""What every field of a cluster declaration does, in words: the prose of the declaration reference
(docs/declaration.md), by field path as the stack file spells it (``nodes[].management.auth``). The
reference's generator (components/declaration_doc.py) adds what the models say (types, defaults, allowed
values); tests/unit/test_declaration_reference.py fails when a field has no prose here or prose is left for a
field that is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Prose:
    """What one field does. ``vendors``: the load-balancer kinds it applies to (None: all, or the cluster
    as a whole); for fields of per-vendor models the models decide and this must agree. ``effects``: per
    vendor kind, and ``nodes`` for the RRAS nodes, what the field becomes there."""

    what: str
    vendors: tuple[str, ...] | None = None
    effects: Mapping[str, str] = field(default_factory=dict)


def _p(what: str, *, vendors: tuple[str, ...] | None = None, **effects: str) -> Prose:
    return Prose(" ".join(what.split()), vendors, {k: " ".join(v.split()) for k, v in effects.items()})


_KEY_NAME_HOW = (
    "the NAME of a secret config key, never the value: set it with `pulumi config set --secret {key}` "
    "(stored encrypted in the stack file as `aovpn:{key}: {{secure: ...}}`); the providers read it from "
    "the stack config at run time, and it never appears in state, outputs, logs or messages."
)
_IPSEC_COMMON = (
    "Changing it updates the node's policy and restarts RemoteAccess (rolling, one drained node at a "
    "time). `None` is always refused (the Always On VPN client profile cannot express it)."
)


def _ipsec(param: str, what: str, client: str) -> Prose:
    return _p(
        f"{what} Written only when `protocols` lists ikev2; the load balancers do not see it.",
        nodes=f"`Set-VpnServerConfiguration -CustomPolicy -{param}`, read back with "
        f"`Get-VpnServerConfiguration`. {_IPSEC_COMMON} The stack output `clusters.<name>.clientProfile` "
        f"carries the same value for clients: {client}",
    )


PROSE: dict[str, Prose] = {
    # --- the cluster --------------------------------------------------------------------------------
    "name": _p(
        """The cluster's name, unique in the stack. Every appliance object name and Pulumi resource name
        derives from it, so renaming a cluster replaces all of its objects.""",
        f5="""Objects are `<name>_<role>`: nodes `<name>_<node>`, pools `<name>_ikev2_500` /
        `<name>_ikev2_4500` / `<name>_sstp`, persistence profiles `<name>_ikev2_srcaddr`,
        `<name>_sstp_ssl`, `<name>_sstp_srcaddr`, virtual servers `<name>_ikev2_<port>_vs` and
        `<name>_sstp_<port>_vs`, monitor `<name>_sstp_http|https`, client-ssl profile
        `<name>_sstp_clientssl`; the save resource is `<name>-config-save`.""",
        citrix="""Servers `<name>_<node>`, service groups `<name>_ikev2_<port>` and
        `<name>_sstp_bridge|http|ssl`, vservers `<name>_ikev2_<port>_vs` / `<name>_sstp_<port>_vs`,
        monitors `<name>_ikev2_ping` and `<name>_sstp_http|https`, persistency group
        `<name>_ikev2_persist`; the save resource is `<name>-config-save`.""",
        kemp="""Virtual services are nicknamed `<name>_ikev2_<port>` / `<name>_sstp_<port>` followed by the
        ownership marker.""",
        nodes="""Pulumi resources `<name>-<node>-ipsec-policy`, `<name>-<node>-ikev2-fragmentation`,
        `<name>-<node>-restart`...""",
    ),
    "protocols": _p(
        """The VPN protocols the cluster serves; a list (a single string is accepted), each protocol at
        most once. A vendor that does not provision a listed protocol is refused at preview.""",
        f5="""ikev2: pools and UDP virtual servers for 500 and 4500 with a shared source-address
        persistence profile (*Match Across Services*); sstp: a pool, an SSTP monitor, SSL and
        source-address persistence profiles and a TCP virtual server on `sstp.port`.""",
        citrix="""ikev2: a PING monitor, UDP service groups and vservers for 500 and 4500 and a SOURCEIP
        persistency group holding both; sstp: an HTTP monitor of the SSTP listener, a service group and
        a vserver with SSLSESSION persistence and SOURCEIP backup.""",
        kemp="""ikev2: UDP virtual services on 500 and 4500 with the nodes as real servers and port
        following between them; sstp: a TCP virtual service on `sstp.port` with the nodes as real
        servers.""",
        nodes="""ikev2: the custom IPsec policy, `EnableServerFragmentation` and
        `IkeNumEstablishedForInitialQuery`; sstp: the `SstpSvc` values of TLS offload.""",
    ),
    "virtualAddress": _p(
        """The address clients connect to (IPv4 or IPv6, unicast). The nodes must use the same address
        family and none may use this address; two clusters on one load balancer (`loadBalancer.url`)
        need different virtual addresses.""",
        f5="Destination address of every virtual server.",
        citrix="IP address of every load-balancing vserver.",
        kemp="Address of every virtual service.",
        nodes="""Not written; it is the Host header of the F5 SSTP health check when `sstp.hostName` is
        not declared.""",
    ),
    "nodes": _p(
        """The RRAS servers behind the load balancer, at least one. Names and addresses are unique within
        the cluster; `management` is declared for every node or for none. The list order is the order
        of the rolling restart.""",
        f5="One node object `<cluster>_<node>` per entry, a member of every pool.",
        citrix="One server `<cluster>_<node>` per entry, a member of every service group.",
        kemp="One real server per entry on every virtual service.",
        nodes="""With `management` on every node: the node settings and one restart resource per node,
        chained in list order.""",
    ),
    "nodes[].name": _p(
        """The node's name: letters, digits and `-`, at most 63 characters, unique in the cluster
        (case-insensitively). Appliance objects and Pulumi resources of the node are named after it.""",
        f5="Node object `<cluster>_<name>`; pool members `<cluster>_<name>:<port>`.",
        citrix="Server `<cluster>_<name>`.",
        kemp="Not on the device (real servers are addressed by IP and port); names the Pulumi resources.",
        nodes="""Names the node's Pulumi resources (`<cluster>-<name>-...`) and the node in the rolling
        restart's messages.""",
    ),
    "nodes[].address": _p(
        """The node's own address, where the load balancer sends VPN traffic; unique in the cluster, not
        the virtual address, same address family as it.""",
        f5="Address of the node object; members on 500, 4500 and the SSTP node port (443, or 80 with TLS "
        "offload without re-encryption).",
        citrix="IP address of the server; service group members on the same ports.",
        kemp="Address of the real servers on every virtual service.",
        nodes="Not used to reach the node: that is `management.endpoint`.",
    ),
    "nodes[].management": _p(
        """How the project reaches the node over WinRM / PowerShell Remoting. Declared on every node:
        the RRAS adapter configures the nodes and restarts them rolling; declared on none: only the load
        balancer is configured.""",
        f5="Rolling restarts drain the node by disabling its members in every pool.",
        citrix="Rolling restarts drain the node by disabling its server gracefully.",
        kemp="Rolling restarts drain the node by disabling its real servers.",
        nodes="""One runspace pool per node per run; cmdlets with bound parameters (nothing from the
        declaration becomes PowerShell source).""",
    ),
    "nodes[].management.endpoint": _p(
        """The node's WS-Management URL (`https://host:5986/wsman`). `http://` is allowed only with an
        authentication that encrypts the messages (not `basic`); the URL must not carry credentials; a
        trailing `/` is dropped.""",
        nodes="Where the PowerShell Remoting sessions are opened; TLS is verified against `caBundle`.",
    ),
    "nodes[].management.user": _p(
        """The WinRM account (e.g. `CORP\\svc-aovpn`); it must be allowed to run
        `Set-VpnServerConfiguration`, write the registry values and restart RemoteAccess and IKEEXT.""",
        nodes="The user of every PowerShell Remoting session to the node.",
    ),
    "nodes[].management.passwordSecret": _p(
        "The WinRM password: " + _KEY_NAME_HOW.format(key="rrasPassword"),
        nodes="The password of the PowerShell Remoting sessions.",
    ),
    "nodes[].management.auth": _p(
        """The WinRM authentication: `ntlm` (default), `negotiate` (Kerberos when a ticket and the
        node's service principal are available, else NTLM), `kerberos` (needs gssapi and a krb5.conf for
        the node's realm on the machine running Pulumi, and a ticket), `credssp` (needs
        `Enable-WSManCredSSP -Role Server` on the node) or `basic` (HTTPS only: Basic cannot encrypt
        messages over HTTP, and Windows has it off unless an administrator enabled it).""",
        nodes="""The pypsrp authentication of the node's sessions; over `http://` the messages are
        encrypted by it.""",
    ),
    "nodes[].management.kerberosHostname": _p(
        """The node's DNS name for Kerberos, when `endpoint` names the node by IP address: the service
        principal asked for is `HTTP/<kerberosHostname>`. Only with `auth: kerberos` or `negotiate`.""",
        nodes="The host name of the Kerberos service ticket requested for the node's WinRM sessions.",
    ),
    "nodes[].management.configurationName": _p(
        """The PowerShell session configuration the project connects to on the node: the name under which
        an administrator registered the project's Just Enough Administration endpoint (`jea/`, e.g.
        `AovpnRras`), which allows only the commands the project sends. Left out: the default
        configuration (`Microsoft.PowerShell`), which needs an administrator account.""",
        nodes="The `configuration_name` of every PowerShell Remoting session to the node.",
    ),
    "nodes[].management.caBundle": _p(
        """Path of a PEM file (relative to the project directory) of the CA that signed the node's WinRM
        certificate; without it the system's trusted CAs. Certificate validation is never turned off.""",
        nodes="What the node's HTTPS certificate is verified against.",
    ),
    # --- the load balancer --------------------------------------------------------------------------
    "loadBalancer": _p(
        """The load balancer in front of the nodes and how the project reaches its management API.""",
    ),
    "loadBalancer.kind": _p(
        """Which vendor's appliance it is: selects the vendor module through components/registry.py
        (case-insensitive). Changing it moves the cluster to another appliance type: every object is
        created on the new one and deleted from the old.""",
        f5="`f5`: F5 BIG-IP over iControl REST.",
        citrix="`citrix`: Citrix ADC (NetScaler) over NITRO.",
        kemp="`kemp`: Kemp (Progress) LoadMaster over its /access API.",
    ),
    "loadBalancer.url": _p(
        """The management URL, `https://` only (management traffic is never sent in clear), without
        credentials; a trailing `/` is dropped. Each cluster on one URL needs its own virtual address.""",
        f5="Base URL of iControl REST (`/mgmt/tm/...`).",
        citrix="Base URL of NITRO (`/nitro/v1/...`).",
        kemp="Base URL of the LoadMaster API (`/access/...`).",
    ),
    "loadBalancer.user": _p(
        "The management account the providers log in with.",
        f5="iControl REST user (token login).",
        citrix="NITRO user (session login).",
        kemp="LoadMaster API user.",
    ),
    "loadBalancer.passwordSecret": _p(
        "The management password: " + _KEY_NAME_HOW.format(key="f5Password"),
    ),
    "loadBalancer.caBundle": _p(
        """Path of a PEM file (relative to the project directory) of the CA that signed the appliance's
        management certificate; without it the system's trusted CAs. TLS is always verified.""",
    ),
    "loadBalancer.partition": _p(
        """The BIG-IP administrative partition the cluster's objects are created in (`/<partition>/<name>`);
        the built-in parents (`/Common/udp`, `/Common/gateway_icmp`...) stay in Common.""",
        vendors=("f5",),
        f5="""Partition of every node, pool, monitor, profile, certificate and virtual server, and of the
        pool members drained in rolling restarts.""",
    ),
    "loadBalancer.deviceGroup": _p(
        """The BIG-IP HA device group the configuration is synced to; absent: no sync.""",
        vendors=("f5",),
        f5="""After `save sys config`, the `<cluster>-config-save` resource runs `config-sync to-group
        <deviceGroup>` whenever an object of the cluster was written.""",
    ),
    "loadBalancer.adopt": _p(
        """Existing objects (a cluster built by hand) the first `up` takes over instead of creating new ones:
        role -> the object's name on the appliance (`./run audit --write-declaration` fills it in). The
        preview says, per adopted object, what will change on it; `up` writes only those changes and the
        ownership marker, deletes nothing and keeps the object's name. An object marked by another stack is
        refused. An unknown role, a built-in, or one object named for two roles is refused at preview. Keep
        the entries after the first `up`: removing one replaces that object with one of the derived name.""",
        vendors=("citrix", "f5", "kemp"),
        kemp="""Roles: `virtual:ikev2-500`, `virtual:ikev2-4500`, with SSTP `virtual:sstp`; the name is the
        virtual service's Service Name as the WUI shows it (`AOVPN_IKE`); the service is the one on the
        declared address and port. Its real servers and port following are taken over with it; an offloaded
        SSTP certificate is installed again under the project's name. Two roles naming one name are refused
        (rename one service first).""",
        f5="""Roles: `node:<nodes[].name>`, `pool:ikev2-500`, `pool:ikev2-4500`, `virtual:ikev2-500`,
        `virtual:ikev2-4500`, `persistence:ikev2`; with SSTP `monitor:sstp`, `pool:sstp`,
        `persistence:sstp-ssl`, `persistence:sstp-srcaddr`, `virtual:sstp`, and `profile:sstp-clientssl`
        with TLS offload. Names are BIG-IP object names of `loadBalancer.partition` (`AOVPN_IKE` or
        `/Common/AOVPN_IKE`; a node the GUI named by its address, `198.51.100.21`); pool members follow
        the adopted node names.""",
        citrix="""Roles: `node:<nodes[].name>` (a server; one the GUI named by its address, `10.10.0.12`),
        `pool:ikev2-500`, `pool:ikev2-4500` (UDP service groups), `virtual:ikev2-500`, `virtual:ikev2-4500`
        (UDP vservers), `monitor:ikev2` (PING), `persistence:ikev2` (persistency group); with SSTP
        `pool:sstp`, `virtual:sstp`, `monitor:sstp` (HTTP). Names as the ADC has them (letters, digits,
        `_ # . space : @ = -`, at most 127); an adopted object must be of the type its role needs. Member,
        monitor and persistency-group bindings are taken over with the objects they hang from; a comment a
        person wrote on a server, service group or vserver is replaced by the marker (the preview shows
        it); an offloaded SSTP certificate cannot be adopted (the ADC refuses its content under a second
        certkey name).""",
    ),
    # --- IPsec -----------------------------------------------------------------------------------------
    "ipsec": _p(
        """The IKEv2 custom IPsec policy of the RRAS nodes: a `preset` whose values every field declared
        explicitly overrides; the default preset is the minimum baseline (AES128 / SHA256 / DH Group14 /
        PFS2048, the field's current lifetimes). Weak values are refused unless `allowWeakCrypto`; `None`
        is always refused; AES-GCM must name the same variant for cipher and authentication transforms.""",
        nodes="""One `RrasIpsecPolicy` resource per node (`Set-VpnServerConfiguration -CustomPolicy`); the
        stack output `clientProfile` carries the matching ProfileXML `NativeProfile` (NativeProtocolType
        IKEv2 and its CryptographySuite) and `Set-VpnConnectionIPsecConfiguration` parameters.""",
    ),
    "ipsec.preset": _p(
        """`baseline` (default: AES128, SHA256, AES128 / SHA256128, Group14, PFS2048; SA lifetime 28800 s,
        main-mode SA lifetime 86400 s, renegotiation after 1024000 KB) or `enhanced` (GCMAES128 for IKE
        and ESP, SHA256, Group14, ECP256; same lifetimes), the field's security baselines. `enhanced`
        needs Windows Server 1803 (build 17134) or later on every node: a node with an older build is
        refused at preview, by name.""",
        nodes="""Supplies the `Set-VpnServerConfiguration -CustomPolicy` values the declaration leaves out;
        changing it changes the policy (rolling restart) and the client profile.""",
    ),
    "ipsec.encryptionMethod": _ipsec(
        "EncryptionMethod",
        "The IKE (main mode) encryption algorithm.",
        "CryptographySuite `EncryptionMethod` (GCMAES128 / GCMAES256 are spelled AES_GCM_128 / AES_GCM_256 "
        "there).",
    ),
    "ipsec.integrityCheckMethod": _ipsec(
        "IntegrityCheckMethod",
        "The IKE (main mode) integrity algorithm.",
        "CryptographySuite `IntegrityCheckMethod` (SHA1 is spelled SHA196 there).",
    ),
    "ipsec.cipherTransformConstants": _ipsec(
        "CipherTransformConstants",
        """The ESP (quick mode) encryption transform. With AES-GCM it must equal
        `authenticationTransformConstants`.""",
        "CryptographySuite `CipherTransformConstants`.",
    ),
    "ipsec.authenticationTransformConstants": _ipsec(
        "AuthenticationTransformConstants",
        """The ESP (quick mode) integrity transform. With AES-GCM it must equal
        `cipherTransformConstants`.""",
        "CryptographySuite `AuthenticationTransformConstants`.",
    ),
    "ipsec.dhGroup": _ipsec(
        "DHGroup",
        "The Diffie-Hellman group of the IKE key exchange.",
        "CryptographySuite `DHGroup`.",
    ),
    "ipsec.pfsGroup": _ipsec(
        "PfsGroup",
        "The perfect-forward-secrecy group of the ESP (quick mode) key exchange.",
        "CryptographySuite `PfsGroup`.",
    ),
    "ipsec.saLifeTimeSeconds": _p(
        """Lifetime of the IPsec SAs in seconds, within the range RRAS accepts. Not part of the client
        profile.""",
        nodes="""`Set-VpnServerConfiguration -CustomPolicy -SALifeTimeSeconds`; a change restarts
        RemoteAccess (rolling).""",
    ),
    "ipsec.mmSaLifeTimeSeconds": _p(
        """Lifetime of the IKE main-mode SAs in seconds, within the range RRAS accepts. Not part of the
        client profile.""",
        nodes="""`Set-VpnServerConfiguration -CustomPolicy -MMSALifeTimeSeconds`, read back as
        `MMSALifeTime`; a change restarts RemoteAccess (rolling).""",
    ),
    "ipsec.saDataSizeForRenegotiationKilobytes": _p(
        """Kilobytes sent over an SA before it is renegotiated, at least the minimum RRAS accepts. Not part
        of the client profile.""",
        nodes="""`Set-VpnServerConfiguration -CustomPolicy -SADataSizeForRenegotiationKilobytes`; a change
        restarts RemoteAccess (rolling).""",
    ),
    "allowWeakCrypto": _p(
        """Accept the weak `ipsec` values (listed as *weak* under each `ipsec` field) instead of refusing
        them at preview. `None` and mismatched AES-GCM transforms stay refused. Changes nothing on any
        appliance by itself.""",
        nodes="Only lets a weak `ipsec` policy through to the nodes.",
    ),
    "clientAddress": _p(
        """Whether the load balancer keeps the client's source address (`preserved`, the default: RRAS
        limits IPsec SAs per source address, so translated clients fail under load with error 809) or
        translates it (`translated`, SNAT; the nodes then get the SA-limit workaround). Preserving needs
        the nodes to route back through the load balancer.""",
        f5="Source Address Translation `none` (preserved) or `automap` (translated) on every virtual server.",
        citrix="""preserved: global mode USNIP enabled (never disabled by this project) and *Use Client IP*
        (usip YES) on every service group; translated: usip NO.""",
        kemp="""Transparency on (preserved) or off (translated) on every virtual service. A LoadMaster
        cannot combine transparency with SSL re-encryption (`sstp.tlsOffload.reencrypt`).""",
        nodes="""translated: `IkeNumEstablishedForInitialQuery` is written (IKEEXT restart); preserved: the
        value is removed.""",
    ),
    "persistenceTimeout": _p(
        """How long, in seconds, one client stays on one node (1 to 86400); vendors narrow it where their
        appliance cannot store a value.""",
        f5="Timeout of the persistence profiles `<cluster>_ikev2_srcaddr`, `<cluster>_sstp_ssl` and "
        "`<cluster>_sstp_srcaddr`.",
        citrix="""In whole minutes (seconds / 60) on the SOURCEIP persistency group and the SSTP vserver:
        a multiple of 60 between 120 and 86400 is required.""",
        kemp="""Persistence timeout of every virtual service: 60 to 604800 s is required (shorter values
        would silently become 0, no persistence).""",
    ),
    "loadBalancingMethod": _p(
        "How new clients are spread over the nodes.",
        f5="Pool load-balancing mode `least-connections-member` or `round-robin`.",
        citrix="vserver lbmethod `LEASTCONNECTION` or `ROUNDROBIN`.",
        kemp="Virtual service scheduling method `lc` or `rr`.",
    ),
    "ikev2Fragmentation": _p(
        """IKEv2 fragmentation on the nodes, so large IKE_AUTH messages (certificate chains) are not
        IP-fragmented and dropped by firewalls. IKEv2 only.""",
        nodes="""true: `RemoteAccess\\Parameters\\Ikev2 EnableServerFragmentation` DWORD 1; false: the value
        is removed. A change restarts RemoteAccess (rolling).""",
    ),
    "ikeNumEstablishedForInitialQuery": _p(
        """How many IKE SAs one source address may establish on a node (a DWORD, 1 to 4294967295): the
        SA-limit workaround, about twice the concurrent connections expected from one source address.
        Written only with `clientAddress: translated` and IKEv2.""",
        nodes="""`IKEEXT\\Parameters IkeNumEstablishedForInitialQuery` DWORD; removed while the client address
        is preserved. A change restarts IKEEXT (rolling).""",
    ),
    # --- IKEv2 node settings ------------------------------------------------------------------------------
    "ikev2": _p(
        """IKEv2 settings of the nodes beyond the IPsec policy (the field's hardening scripts); only with
        `protocols` listing ikev2. A field left out leaves the node as it is.""",
    ),
    "ikev2.crlCheck": _p(
        """Check client certificates against their certificate revocation list, so a revoked device
        certificate is refused. The CRL must be reachable from the nodes.""",
        nodes=r"""true: `RemoteAccess\Parameters\Ikev2 CertAuthFlags` DWORD 4; false: the value is removed. A
        change restarts RemoteAccess (rolling).""",
    ),
    "ikev2.rootCertificateThumbprint": _p(
        r"""The SHA-1 thumbprint (40 hexadecimal digits) of the only root CA whose client certificates the
        nodes accept; the certificate must be in each node's LocalMachine\Root store. Left out: any
        trusted root.""",
        nodes="`Set-VpnAuthProtocol -RootCertificateNameToAccept` with that certificate; read back with "
        "`Get-VpnAuthProtocol`.",
    ),
    "ikev2.idleTimeoutMinutes": _p(
        """Minutes after which an idle IKEv2 connection is closed. With a load balancer in front, a short
        value (the field uses 5) frees a failed node's clients to reconnect elsewhere.""",
        nodes="`netsh ras set ikev2connection idletimeout=<minutes>`; a change restarts RemoteAccess "
        "(rolling).",
    ),
    "ikev2.networkOutageMinutes": _p(
        """Minutes an IKEv2 connection survives a network outage before it is closed (the field uses 10
        behind a load balancer, at least 2).""",
        nodes="`netsh ras set ikev2connection nwoutagetime=<minutes>`; a change restarts RemoteAccess "
        "(rolling).",
    ),
    # --- SSTP ------------------------------------------------------------------------------------------
    "sstp": _p(
        """SSTP (TCP, the firewall-friendly fallback) settings; used only when `protocols` lists sstp
        (`tlsOffload` without sstp is refused). The SSTP health checks send a HEAD of the SSTP URI and
        expect 401.""",
    ),
    "sstp.port": _p(
        """The TCP port clients connect to on the virtual address. The nodes are always reached on 443, or
        80 with TLS offload without re-encryption.""",
        f5="Port of the virtual server `<cluster>_sstp_<port>_vs`.",
        citrix="Port of the vserver `<cluster>_sstp_<port>_vs`.",
        kemp="Port of the TCP virtual service (nicknamed `<cluster>_sstp_<port>`).",
        nodes="Not written (RRAS listens on 443, or 80 behind TLS offload).",
    ),
    "sstp.tlsHardening": _p(
        """Harden the nodes' TLS for SSTP as the field's TLS script does: `off` (default, left as Windows
        has it), `performance` (TLS 1.2 and later, AES-128-GCM suites first) or `security` (AES-256-GCM
        suites first). The cipher-suite list follows each node's Windows build.""",
        nodes="""Schannel registry values and the cipher-suite order; they take effect after a reboot, so a
        change reboots the nodes one at a time, drained.""",
    ),
    "sstp.hostName": _p(
        """The public DNS name clients connect to; defaults to the virtual address. It is the Host header
        of the SSTP health check.""",
        vendors=("f5",),
        f5="Host header in the send string of the SSTP monitor.",
        citrix="Not used (the HTTP monitor sends `HEAD <SSTP URI>` without a Host).",
        kemp="Not used (the check names only the SSTP URI).",
    ),
    "sstp.tlsOffload": _p(
        """Terminate SSTP's TLS on the load balancer with the public certificate (from secret config);
        absent: TLS passes through to the nodes on 443.""",
        f5="""The certificate and key are installed (named by the certificate's fingerprint), a client-ssl
        profile `<cluster>_sstp_clientssl` (parent `/Common/clientssl`) is added client-side on the
        virtual server, and the monitor and pool members speak HTTP on port 80 (HTTPS on 443 with
        `reencrypt`).""",
        citrix="""The certificate and key are uploaded as certkey `aovpn_<16 hex of its SHA-256>` and bound
        to an SSL vserver; the service group is `<cluster>_sstp_http` (HTTP, port 80) or
        `<cluster>_sstp_ssl` (SSL, 443, with `reencrypt`) instead of the SSL_BRIDGE
        `<cluster>_sstp_bridge`.""",
        kemp="""The certificate is installed (`addcert`, `aovpn_<16 hex of its SHA-256>`), SSL acceleration
        is on for the virtual service and the real servers are the nodes on port 80 with an HTTP check
        (443 with `reencrypt`).""",
        nodes="""Without `reencrypt`: `SstpSvc\\Parameters` `UseHttps` 0, `isHashConfiguredByAdmin` 1,
        `SHA256CertificateHash` = the load balancer's certificate hash, `SHA1CertificateHash` removed;
        RemoteAccess restarted (rolling). Absent or with `reencrypt`: `UseHttps` and
        `isHashConfiguredByAdmin` removed (HTTPS with RRAS's own certificate binding).""",
    ),
    "sstp.tlsOffload.certificateSecret": _p(
        """The public certificate (PEM X.509): """
        + _KEY_NAME_HOW.format(key="sstpCertificate")
        + """ A PEM starts with `-`, so pass it on standard input
        (`pulumi config set --secret sstpCertificate < cert.pem`). A new certificate in the secret is a
        new certificate object on the appliance (the old one goes after the switch).""",
        f5="Installed as the certificate of the client-ssl profile.",
        citrix="Uploaded in the certkey `aovpn_<16 hex>`.",
        kemp="Installed as certificate `aovpn_<16 hex>`.",
        nodes="Its SHA-256 hash becomes `SHA256CertificateHash` (without `reencrypt`).",
    ),
    "sstp.tlsOffload.privateKeySecret": _p(
        """The certificate's private key (PEM): """
        + _KEY_NAME_HOW.format(key="sstpPrivateKey")
        + " Pass it on standard input like the certificate.",
        f5="Installed as the key of the client-ssl profile.",
        citrix="Uploaded with the certkey.",
        kemp="Installed with the certificate.",
    ),
    "sstp.tlsOffload.reencrypt": _p(
        """Re-encrypt from the load balancer to the nodes (TLS on 443) instead of plain HTTP on port 80.
        The nodes must then carry a certificate the load balancer accepts (the public one).""",
        f5="`/Common/serverssl` added server-side on the virtual server; HTTPS monitor; members on 443.",
        citrix="Service group `<cluster>_sstp_ssl` of type SSL on 443; HTTPS monitor.",
        kemp="""SSL re-encryption on the virtual service; real servers on 443. Refused with
        `clientAddress: preserved` (a LoadMaster cannot combine it with transparency).""",
        nodes="""The nodes keep HTTPS: `UseHttps` and `isHashConfiguredByAdmin` removed, their own
        certificate binding left alone.""",
    ),
    # --- running the nodes -----------------------------------------------------------------------------
    "rras": _p(
        """How the project runs the RRAS nodes: the drain before each restart, and what removing a node or
        the cluster leaves on it.""",
    ),
    "rras.drainTimeoutSeconds": _p(
        """After a node is drained on the load balancer, how long (0 to 86400 s) the roll waits for its VPN
        sessions to end before restarting it anyway; 0 restarts at once. The run says how many sessions
        were still up.""",
        nodes="""Polls `Get-RemoteAccessConnectionStatistics` on the drained node until no connection is
        left or the time is up. Changing it restarts nothing.""",
    ),
    "rras.onRemove": _p(
        """What removing a node or the cluster from the stack (or `destroy`) does to the nodes: `keep`
        (default) leaves their policy and registry values as they are and says so; `revert` puts them back
        to Windows' defaults and restarts them, drained, so they never fall back to weaker crypto
        silently at some later restart (clients with the AES profile then fail with 13868).""",
        nodes="""keep: nothing written, a warning per node; revert: `Set-VpnServerConfiguration
        -RevertToDefault`, the project's registry values removed, RemoteAccess (and IKEEXT) restarted.""",
    ),
}

#: Stack config keys besides ``aovpn:clusters`` that the project reads (none is a cluster field), for an
#: "Other keys" section of the reference (components/declaration_doc.py does not render it yet).
CONFIG_KEYS: dict[str, Prose] = {
    "aovpn:audit": _p(
        """Where `./run audit --stack NAME` looks when the stack declares no cluster yet (a cluster built by
        hand): `loadBalancer` (`kind`, `url`, `user`, `passwordSecret`, `caBundle`, as in a cluster, validated
        with the same vendor model) and, optionally, `nodes`: a list of `{address, name, management}` with
        `management` as `nodes[].management`. The audit reads the load balancer and those nodes (nothing is
        written), reports every pitfall it finds with its evidence, symptom and fix, and with
        `--write-declaration FILE` writes the `aovpn:clusters` entry of what it found, with the fixes applied
        and `loadBalancer.adopt` naming the existing objects. Nodes found behind the virtual address without
        an entry are listed as not audited. `pulumi preview` and `up` ignore this key (a stack with only
        `aovpn:audit` declares no cluster).""",
    ),
}
