"""The mutants: each breaks one promise of the rendered pod configs or the agent (issue: "today all
ten survive every tier"), and names the tests that must notice. Kept next to the code they break by
exact text, so a refactor that moves the text makes `run.py` fail until the mutant is updated."""

from __future__ import annotations

from dataclasses import dataclass

FW = "modules/pod/templates/fw.yaml.tftpl"
VPN = "modules/pod/templates/vpn.yaml.tftpl"
POD = "modules/pod/main.tf"
AGENT = "modules/pod/agent/health_agent.py"

LAB = "tests/lab/test_lab.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    why: str
    file: str
    edits: tuple[tuple[str, str], ...]  # (exact text, replacement), each found exactly once
    tests: tuple[str, ...]


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "flow-without-destination",
        "an approved flow loses its destination match: its port opens to every workload",
        FW,
        (
            (
                """ ip daddr { ${join(", ", f.destination_cidrs)} }\"}""",
                '"}',
            ),
        ),
        (f"{LAB}::test_an_approved_port_is_open_to_its_destination_only",),
    ),
    Mutant(
        "fw-input-accepts",
        "the fw's input chain accepts what it does not name (policy accept, no final drop)",
        FW,
        (
            (
                """type filter hook input priority filter; policy drop;""",
                """type filter hook input priority filter; policy accept;""",
            ),
            (
                # Without this, the chain's explicit final drop makes a policy change alone equivalent.
                'limit name "drop_log" log prefix "microseg-drop ${pod} input " level warn counter drop\n'
                '          counter name "drops_unlogged" drop\n',
                "",
            ),
        ),
        (f"{LAB}::test_the_fw_itself_answers_only_ping_and_dhcp",),
    ),
    Mutant(
        "internet-any-port",
        "internet egress allowed on any port for every workload",
        FW,
        (
            (
                "%{ for f in flows ~}\n",
                '          ip saddr { ${join(", ", workload_cidrs)} } oifname "public" counter accept\n'
                "%{ for f in flows ~}\n",
            ),
        ),
        (f"{LAB}::test_an_approved_port_is_open_to_its_destination_only",),
    ),
    Mutant(
        "download-cap-per-tunnel",
        "what a workload receives is shaped per tunnel at the full rate: with both tunnels carrying "
        "replies (maximum-paths 2, equal local-pref), its download cap doubles",
        VPN,
        (
            (
                "        shape ifb-bridge dst\n",
                "        shape tgw1 dst; shape tgw2 dst\n",
            ),
        ),
        (f"{LAB}::test_qos_caps_a_workload_per_pod_in_both_directions_over_both_tunnels",),
    ),
    Mutant(
        "broken-health-unit",
        "the rendered health-agent unit passes an unset variable: the agent cannot start",
        VPN,
        (
            (
                "--check-fall $${CHECK_FAILURES}",
                "--check-fall $${CHECK_FAILURE}",
            ),
        ),
        (
            "tests/appliance/test_boot.py::test_units_use_only_variables_their_environment_file_sets",
            f"{LAB}::test_ecmp_spreads_flows_over_all_pods",
        ),
    ),
    Mutant(
        "agent-30-reads",
        "the agent waits for 30 unhealthy reads before it withdraws",
        AGENT,
        (
            (
                "if self._streak >= (self.rise if healthy else self.fall):",
                "if self._streak >= (self.rise if healthy else 30):",
            ),
        ),
        (
            "tests/appliance/test_health_agent.py::test_gate_needs_rise_healthy_and_fall_unhealthy_in_a_row",
            f"{LAB}::test_broken_fw_withdraws_only_its_pod_within_ten_seconds",
        ),
    ),
    Mutant(
        "static-default-route",
        "`network 0.0.0.0/0` in the saved frr.conf: a (re)started pod advertises before it is proven",
        VPN,
        (
            (
                "        maximum-paths 2\n%{ endif ~}\n       exit-address-family",
                "        maximum-paths 2\n%{ endif ~}\n        network 0.0.0.0/0\n       exit-address-family",
            ),
        ),
        (f"{LAB}::test_a_restarted_vpn_starts_withdrawn",),
    ),
    Mutant(
        "inside-addresses-swapped",
        "the vpn takes the TGW's tunnel inside address and the TGW's becomes ours",
        POD,
        (
            (
                "local_inside_ip      = cidrhost(var.tunnel_inside_cidrs[n], 2)\n"
                "        peer_inside_ip       = cidrhost(var.tunnel_inside_cidrs[n], 1)",
                "local_inside_ip      = cidrhost(var.tunnel_inside_cidrs[n], 1)\n"
                "        peer_inside_ip       = cidrhost(var.tunnel_inside_cidrs[n], 2)",
            ),
        ),
        ("tests/modules/test_pod.py::test_plan_tunnels_and_fixed_addresses_follow_the_contract",),
    ),
    Mutant(
        "xfrm-if-id-mismatch",
        "the XFRM interface's if_id differs from the one swanctl marks the tunnel's SAs with",
        VPN,
        (
            (
                'type xfrm dev "$public" if_id ${t.number}',
                'type xfrm dev "$public" if_id ${t.number + 10}',
            ),
        ),
        ("tests/appliance/test_appliance_render.py::test_each_tunnel_interface_carries_its_own_sas",),
    ),
    Mutant(
        "esp-proposal-aws-rejects",
        "the ESP proposals offer a DH group AWS does not accept (modp768)",
        VPN,
        (
            (
                "                [for g in t.phase2.dh_groups : n.dh[tostring(g)]],",
                '                ["modp768"],',
            ),
        ),
        ("tests/appliance/test_proposals.py",),
    ),
)
