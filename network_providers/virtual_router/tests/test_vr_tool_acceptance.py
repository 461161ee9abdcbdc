"""What the router renders is accepted by the real tools: ``haproxy -c`` for every
algorithm and stickiness method, ``dnsmasq --test``, ``iptables-restore --test`` (in a
throwaway network namespace) for a network using every service."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cumulo_vr.render import render_router
from cumulo_vr.render.haproxy import render_haproxy
from cumulo_vr.state import RouterState
from vr_samples import NETWORK, SNAT, full_state
from vr_testbed import NetnsBed, in_ci, require_netns

from cumulo.sdk.network import LoadBalancerBackend, LoadBalancerRule, StickinessPolicy


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if in_ci():
            pytest.fail(f"{name} must be installed in CI")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture
def files(tmp_path: Path) -> Iterator[Path]:
    base = tmp_path / "vr"
    for relative, data in render_router(full_state(), str(base)).items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    yield base


STICKINESS = [
    None,
    StickinessPolicy(
        "c",
        "LbCookie",
        {
            "cookie-name": "SRV",
            "nocache": "true",
            "indirect": "true",
            "postonly": "true",
            "domain": ".example.com",
        },
    ),
    StickinessPolicy("c", "LbCookie", {"mode": "rewrite"}),
    StickinessPolicy(
        "a",
        "AppCookie",
        {
            "cookie-name": "JSESSIONID",
            "length": "64",
            "holdtime": "1d",
            "request-learn": "true",
            "mode": "query-string",
            "prefix": "true",
        },
    ),
    StickinessPolicy("a", "AppCookie", {}),
    StickinessPolicy("s", "SourceBased", {"tablesize": "1m", "expire": "45m"}),
]


@pytest.mark.parametrize("algorithm", ["roundrobin", "leastconn", "source"])
@pytest.mark.parametrize("stickiness", STICKINESS, ids=lambda s: s.method if s else "none")
def test_haproxy_accepts_every_algorithm_and_stickiness(
    tmp_path: Path, algorithm: str, stickiness: StickinessPolicy | None
) -> None:
    haproxy = _tool("haproxy")
    backends = (LoadBalancerBackend("vm-1", "10.1.1.11"), LoadBalancerBackend("vm-2", "10.1.1.12"))
    rules = (
        LoadBalancerRule(
            "lb-1",
            "web",
            SNAT.address,
            80,
            8080,
            algorithm,
            backends=backends,
            stickiness=stickiness,
            cidrs=("192.0.2.0/24",),
        ),
        LoadBalancerRule("lb-2", "empty", SNAT.address, 443, 443, algorithm),
    )
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_haproxy(RouterState(network=NETWORK, load_balancers=rules), "/x"))
    result = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dnsmasq_accepts_its_configuration(files: Path) -> None:
    dnsmasq = _tool("dnsmasq")
    conf = files / "dnsmasq" / "dnsmasq.conf"
    result = subprocess.run(
        [dnsmasq, "--test", f"--conf-file={conf}"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_iptables_restore_accepts_a_ruleset_using_every_service(files: Path) -> None:
    require_netns()
    bed = NetnsBed()
    try:
        ns = bed.namespace("check")
        rules = (files / "iptables.rules").read_text()
        result = subprocess.run(
            ["ip", "netns", "exec", ns, "iptables-restore", "--test"],
            input=rules,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        # The egress default "deny" renders a different, equally valid tail.
        closed = dataclasses.replace(
            full_state(), network=dataclasses.replace(NETWORK, egress_default_allow=False)
        )
        rendered = render_router(closed, "/x")["iptables.rules"].decode()
        result = subprocess.run(
            ["ip", "netns", "exec", ns, "iptables-restore", "--test"],
            input=rendered,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
    finally:
        bed.close()
