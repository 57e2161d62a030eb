"""Citrix twin authorization: each request checked as its CLI command against the user's command policies,
refusals as the ADC sends them (403, errorcode 2138, the command in brackets), the built-in policies, and the
NITRO resources of users and policies (docs/citrix.md#least-privilege-account)."""

from __future__ import annotations

import re
from pathlib import Path

from emulators.citrix.roles import AOVPN_CMDSPEC
from tests.emulators.citrix.nitro import Nitro, done, refused

ROOT = Path(__file__).resolve().parents[3]


def as_user(adc, user: str, password: str) -> Nitro:
    return Nitro(adc, headers={"X-NITRO-USER": user, "X-NITRO-PASS": password})


def writes(adc) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in adc.admin().log() if e["write"]]


def test_least_privilege_account_runs_the_projects_commands_and_nothing_else(adc):
    automation = as_user(adc, "automation", "automation-pass")
    done(automation("POST", "server", {"server": {"name": "c1_rras1", "ipaddress": "10.0.0.11"}}), 201)
    done(automation("POST", "server?action=disable", {"server": {"name": "c1_rras1", "graceful": "YES"}}))
    done(automation("POST", "nsmode?action=enable", {"nsmode": {"mode": ["USNIP"]}}))
    done(automation("POST", "nsconfig?action=save", {"nsconfig": {}}))
    assert done(automation("GET", "systemuser_binding/automation"))["systemuser_binding"] == [
        {
            "username": "automation",
            "systemuser_systemcmdpolicy_binding": [
                {"username": "automation", "policyname": "aovpn", "priority": 100}
            ],
        }
    ]
    assert done(automation("GET", "systemcmdpolicy/aovpn"))["systemcmdpolicy"][0]["cmdspec"] == AOVPN_CMDSPEC
    before = len(writes(adc))
    message = refused(automation("POST", "nsmode?action=disable", {"nsmode": {"mode": ["USNIP"]}}), 403, 2138)
    assert message == "Not authorized to execute this command [disable ns mode USNIP]"
    message = refused(
        automation("POST", "nsfeature?action=enable", {"nsfeature": {"feature": ["CS"]}}), 403, 2138
    )
    assert message == "Not authorized to execute this command [enable ns feature CS]"
    refused(
        automation("PUT", "lbparameter", {"lbparameter": {"allowboundsvcremoval": "DISABLED"}}), 403, 2138
    )
    refused(automation("GET", "systemuser"), 403, 2138)  # other accounts are not its business
    refused(automation("GET", "systemcmdpolicy/read-only"), 403, 2138)
    refused(automation("POST", "systemuser", {"systemuser": {"username": "x", "password": "y"}}), 403, 2138)
    assert len(writes(adc)) == before  # a refusal writes nothing
    assert "USNIP" in done(Nitro(adc)("GET", "nsmode"))["nsmode"]["mode"]


def test_read_only_user_reads_objects_but_no_system_entries_and_writes_nothing(adc):
    auditor = as_user(adc, "auditor", "auditor-pass")
    done(Nitro(adc)("POST", "server", {"server": {"name": "c1_rras1", "ipaddress": "10.0.0.11"}}), 201)
    assert done(auditor("GET", "server/c1_rras1"))["server"][0]["ipaddress"] == "10.0.0.11"
    resp = auditor("POST", "server", {"server": {"name": "c1_rras2", "ipaddress": "10.0.0.12"}})
    assert resp.reason == "Forbidden"
    assert refused(resp, 403, 2138) == (
        "Not authorized to execute this command [add server c1_rras2 -ipaddress 10.0.0.12]"
    )
    assert "show system file" in refused(
        auditor("GET", "systemfile?args=filelocation:%2Fnsconfig%2Fssl"), 403, 2138
    )
    refused(auditor("GET", "systemuser_binding/auditor"), 403, 2138)  # read-only excludes `show system`
    assert done(Nitro(adc)("GET", "server"))["server"] == [done(auditor("GET", "server"))["server"][0]]


def test_prefix_policy_confines_a_user_to_its_own_objects(adc):
    other = as_user(adc, "other", "other-pass")
    done(other("POST", "server", {"server": {"name": "other_rras1", "ipaddress": "10.0.0.21"}}), 201)
    done(Nitro(adc)("POST", "server", {"server": {"name": "c1_rras1", "ipaddress": "10.0.0.11"}}), 201)
    assert "[show server c1_rras1]" in refused(other("GET", "server/c1_rras1"), 403, 2138)
    refused(other("PUT", "server/c1_rras1", {"server": {"name": "c1_rras1", "comment": "x"}}), 403, 2138)
    refused(other("DELETE", "server/c1_rras1"), 403, 2138)
    assert done(Nitro(adc)("GET", "server/c1_rras1"))["server"][0].get("comment") is None


def test_policies_apply_in_priority_order_and_users_are_managed_over_nitro(adc):
    root = Nitro(adc)
    policies = {
        "no_rm": ("DENY", "^rm "),
        "lb_all": ("ALLOW", "^(show|add|set|rm) (server|lb vserver)"),
    }
    for name, (action, spec) in policies.items():
        body = {"systemcmdpolicy": {"policyname": name, "action": action, "cmdspec": spec}}
        done(root("POST", "systemcmdpolicy", body), 201)
    done(root("POST", "systemuser", {"systemuser": {"username": "ops", "password": "s3cret"}}), 201)
    for name, priority in (("no_rm", 10), ("lb_all", 20)):
        binding = {"username": "ops", "policyname": name, "priority": priority}
        done(
            root("PUT", "systemuser_systemcmdpolicy_binding", {"systemuser_systemcmdpolicy_binding": binding})
        )
    ops = as_user(adc, "ops", "s3cret")
    done(ops("POST", "server", {"server": {"name": "a", "ipaddress": "10.0.0.31"}}), 201)
    assert "[rm server a]" in refused(
        ops("DELETE", "server/a"), 403, 2138
    )  # DENY at 10 wins over ALLOW at 20
    assert [
        b["policyname"]
        for b in done(root("GET", "systemuser_systemcmdpolicy_binding/ops"))[
            "systemuser_systemcmdpolicy_binding"
        ]
    ] == ["no_rm", "lb_all"]
    done(root("DELETE", "systemuser_systemcmdpolicy_binding/ops?args=policyname:no_rm"))
    done(ops("DELETE", "server/a"))
    # a user without any policy may do nothing; nsroot everything; built-ins stay
    done(root("POST", "systemuser", {"systemuser": {"username": "nobody", "password": "x"}}), 201)
    refused(as_user(adc, "nobody", "x")("GET", "server"), 403, 2138)
    builtin = done(root("GET", "systemcmdpolicy/read-only"))["systemcmdpolicy"][0]
    assert builtin["action"] == "ALLOW" and builtin["cmdspec"].startswith("(^man.*)|(^show")
    assert refused(root("DELETE", "systemcmdpolicy/read-only"), 599, 2119) == (
        "Default command policy cannot be removed"
    )
    refused(root("GET", "systemuser/ghost"), 404, 258)


def test_the_readme_documents_the_policy_the_twin_seeds():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Citrix ADC", 1)[1].split("\n## ", 1)[0]
    documented = re.search(r'add system cmdPolicy aovpn ALLOW "([^"]+)"', section)
    assert documented is not None and documented.group(1) == AOVPN_CMDSPEC
    assert "bind system user automation aovpn 100" in section
    assert "\\" not in AOVPN_CMDSPEC and "?" not in AOVPN_CMDSPEC
