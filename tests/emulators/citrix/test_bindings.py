"""Citrix twin bindings: members, monitors, vserver->servicegroup, persistency groups (citrix.md)."""

from __future__ import annotations

from tests.emulators.citrix.nitro import Nitro, bind, done, ikev2, refused


def test_ip_bound_members_create_servers_that_outlive_them(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    by_ip = {"servicegroupname": "sg500", "ip": "10.0.0.12", "port": 500}
    done(
        nitro(
            "PUT",
            "servicegroup_servicegroupmember_binding",
            {"servicegroup_servicegroupmember_binding": by_ip},
        )
    )
    members = done(nitro("GET", "servicegroup_servicegroupmember_binding/sg500?filter=ip:10.0.0.12"))
    assert members["servicegroup_servicegroupmember_binding"][0]["servername"] == "10.0.0.12"
    done(nitro("DELETE", "servicegroup_servicegroupmember_binding/sg500?args=ip:10.0.0.12,port:500"))
    assert done(nitro("GET", "server/10.0.0.12"))["server"][0]["ipaddress"] == "10.0.0.12"
    refused(nitro("POST", "server", {"server": {"name": "named", "ipaddress": "10.0.0.12"}}), 409, 1335)


def test_persistency_group_rules(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(
        nitro("POST", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP", "timeout": 30}}),
        201,
    )
    done(nitro("POST", "lbgroup", {"lbgroup": {"name": "h"}}), 201)
    done(
        nitro(
            "PUT",
            "lbgroup_lbvserver_binding",
            {"lbgroup_lbvserver_binding": {"name": "g", "vservername": "vs500"}},
        )
    )
    vs = done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]
    assert (vs["groupname"], vs["persistencetype"], vs["timeout"]) == ("g", "SOURCEIP", 30)
    refused(
        nitro(
            "PUT",
            "lbgroup_lbvserver_binding",
            {"lbgroup_lbvserver_binding": {"name": "h", "vservername": "vs500"}},
        ),
        599,
        2371,
    )
    refused(
        nitro("PUT", "lbvserver/vs500", {"lbvserver": {"name": "vs500", "persistencetype": "NONE"}}),
        599,
        2306,
    )
    assert done(nitro("GET", "lbgroup/g"))["lbgroup"][0]["timeout"] == "30"
    done(nitro("DELETE", "lbgroup_lbvserver_binding/g?args=vservername:vs500"))
    assert "groupname" not in done(nitro("GET", "lbvserver/vs500"))["lbvserver"][0]
    assert done(nitro("GET", "lbgroup/g"))["lbgroup"]  # the group survives losing its last member
    refused(nitro("DELETE", "lbgroup_lbvserver_binding/g?args=vservername:vs500"), 599, 2379)


def test_missing_parents_unbinding_what_is_not_bound_and_cascades(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    message = refused(
        bind(
            nitro, "servicegroup_servicegroupmember_binding", servicegroupname="nope", ip="10.0.0.1", port=1
        ),
        404,
        258,
    )
    assert message == "No such resource [serviceGroupName, nope]"
    refused(nitro("GET", "servicegroup_servicegroupmember_binding/nope"), 404, 258)
    refused(bind(nitro, "lbvserver_servicegroup_binding", name="vs500", servicegroupname="nope"), 404, 258)
    refused(bind(nitro, "lbvserver_servicegroup_binding", name="ghost", servicegroupname="sg500"), 404, 258)
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "tcp", "servicetype": "TCP"}}),
        201,
    )
    refused(bind(nitro, "lbvserver_servicegroup_binding", name="vs500", servicegroupname="tcp"), 599, 1304)
    refused(nitro("DELETE", "lbvserver_servicegroup_binding/vs500?args=servicegroupname:tcp"), 599, 1303)
    # deleting a vserver takes its bindings and its group membership with it
    done(nitro("POST", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP"}}), 201)
    done(bind(nitro, "lbgroup_lbvserver_binding", name="g", vservername="vs500"))
    done(nitro("DELETE", "lbvserver/vs500"))
    assert "lbgroup_lbvserver_binding" not in done(nitro("GET", "lbgroup_lbvserver_binding/g"))
    assert done(nitro("GET", "servicegroupbindings/sg500"))["servicegroupbindings"] == [
        {"servicegroupname": "sg500"}
    ]


def test_servicegroupbindings_answers_with_the_key_bound_or_not(adc):
    nitro = Nitro(adc)
    done(
        nitro("POST", "servicegroup", {"servicegroup": {"servicegroupname": "sg", "servicetype": "UDP"}}), 201
    )
    unbound = done(nitro("GET", "servicegroupbindings/sg"))
    # the key is there (docs/citrix.md#queries-and-binding-summaries)
    assert unbound["servicegroupbindings"] == [{"servicegroupname": "sg"}]
    done(
        nitro(
            "POST",
            "lbvserver",
            {"lbvserver": {"name": "vs", "servicetype": "UDP", "ipv46": "192.0.2.10", "port": 500}},
        ),
        201,
    )
    done(bind(nitro, "lbvserver_servicegroup_binding", "POST", name="vs", servicegroupname="sg"), 201)
    bound = done(nitro("GET", "servicegroupbindings/sg"))["servicegroupbindings"]
    assert bound == [
        {
            "servicegroupname": "sg",
            "vservername": "vs",
            "ipaddress": "192.0.2.10",
            "port": 500,
            "state": "ENABLED",
        }
    ]
    refused(nitro("GET", "servicegroupbindings/ghost"), 404, 258)


def test_persistency_group_locks_member_persistence_and_group_rules(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(
        nitro(
            "POST",
            "lbvserver",
            {
                "lbvserver": {
                    "name": "vs4500",
                    "servicetype": "UDP",
                    "ipv46": "192.0.2.10",
                    "port": 4500,
                    "persistencetype": "NONE",
                    "timeout": 7,
                }
            },
        ),
        201,
    )
    done(
        nitro("POST", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP", "timeout": 5}}), 201
    )
    for vserver in ("vs500", "vs4500"):
        done(bind(nitro, "lbgroup_lbvserver_binding", "POST", name="g", vservername=vserver), 201)
    # the group's persistence is what its members show, and changing the group changes them
    done(nitro("PUT", "lbgroup", {"lbgroup": {"name": "g", "timeout": "20"}}))
    for vs in done(nitro("GET", "lbvserver"))["lbvserver"]:
        assert (vs["groupname"], vs["persistencetype"], vs["timeout"]) == ("g", "SOURCEIP", 20)
    refused(nitro("PUT", "lbvserver/vs4500", {"lbvserver": {"name": "vs4500", "timeout": 3}}), 599, 2306)
    refused(
        nitro("POST", "lbvserver?action=unset", {"lbvserver": {"name": "vs4500", "persistencetype": True}}),
        599,
        2306,
    )
    refused(bind(nitro, "lbgroup_lbvserver_binding", name="g", vservername="vs500"), 409, 273)
    # cookie persistence needs HTTP members
    refused(nitro("PUT", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "COOKIEINSERT"}}), 599, 2309)
    # vserver-level persistency on the group: no persistence parameters on the group itself
    done(nitro("POST", "lbgroup", {"lbgroup": {"name": "own", "usevserverpersistency": "enabled"}}), 201)
    refused(nitro("PUT", "lbgroup", {"lbgroup": {"name": "own", "persistencetype": "SOURCEIP"}}), 599, 2417)
    # a group whose persistence is unset leaves its members their own; setting it again overrides them
    done(nitro("POST", "lbgroup?action=unset", {"lbgroup": {"name": "g", "persistencetype": True}}))
    vs = done(nitro("GET", "lbvserver/vs4500"))["lbvserver"][0]
    assert (vs["persistencetype"], vs["timeout"], vs["groupname"]) == ("NONE", 7, "g")
    done(nitro("PUT", "lbgroup", {"lbgroup": {"name": "g", "persistencetype": "SOURCEIP"}}))
    assert done(nitro("GET", "lbvserver/vs4500"))["lbvserver"][0]["persistencetype"] == "SOURCEIP"
    # leaving the group gives the vserver its own settings back
    done(nitro("DELETE", "lbgroup_lbvserver_binding/g?args=vservername:vs4500"))
    vs = done(nitro("GET", "lbvserver/vs4500"))["lbvserver"][0]
    assert (vs["persistencetype"], vs["timeout"], "groupname" in vs) == ("NONE", 7, False)
    refused(bind(nitro, "lbgroup_lbvserver_binding", name="nope", vservername="vs4500"), 404, 258)


def test_monitor_reverse_binding_form_stays_consistent(adc):
    nitro = Nitro(adc)
    ikev2(nitro)
    done(nitro("POST", "lbmonitor", {"lbmonitor": {"monitorname": "m", "type": "PING"}}), 201)
    refused(nitro("POST", "lbmonitor", {"lbmonitor": {"monitorname": "m", "type": "PING"}}), 409, 273)
    refused(nitro("PUT", "lbmonitor/m", {"lbmonitor": {"monitorname": "m", "interval": 10}}), 400, 1095)
    done(nitro("PUT", "lbmonitor/m", {"lbmonitor": {"monitorname": "m", "type": "ping", "interval": 10}}))
    done(
        bind(nitro, "lbmonitor_servicegroup_binding", "POST", monitorname="m", servicegroupname="sg500"), 201
    )
    forward = done(nitro("GET", "servicegroup_lbmonitor_binding/sg500"))["servicegroup_lbmonitor_binding"]
    assert [(b["monitor_name"], b["weight"], b["passive"]) for b in forward] == [("m", "1", False)]
    refused(nitro("DELETE", "lbmonitor/m"), 400, 1095)  # the type is part of a monitor's identity
    refused(nitro("DELETE", "lbmonitor/m?args=type:ping"), 599, 2131)
    refused(nitro("DELETE", "servicegroup_lbmonitor_binding/sg500?args=monitor_name:ping-default"), 599, 2164)
    done(nitro("DELETE", "lbmonitor_servicegroup_binding/m?args=servicegroupname:sg500"))
    assert "servicegroup_lbmonitor_binding" not in done(nitro("GET", "servicegroup_lbmonitor_binding/sg500"))
    refused(nitro("DELETE", "servicegroup_lbmonitor_binding/sg500?args=monitor_name:m"), 599, 2170)
    done(nitro("DELETE", "lbmonitor/m?args=type:ping"))
    refused(nitro("GET", "lbmonitor/m"), 404, 258)
