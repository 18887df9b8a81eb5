"""The fleet lab (`lab.sh fleet N`, issue 11): generated customer domains served by the lab's real
Knot and unbound, pointing at existing shared hosts, removable again."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from mailaudit.checks.dns_policy import judge_policy
from mailaudit.context import Context
from mailaudit.model import CheckStatus
from mailaudit.probes.dns_policy import gather_policy
from tests.conftest import LAB_SH

pytestmark = pytest.mark.lab

SIZE = 30


def lab(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        ["bash", str(LAB_SH), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def ask(server: str, name: str, rdtype: str, *, recurse: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    if not recurse:
        query.flags &= ~dns.flags.RD
    return dns.query.udp(query, server.split(":")[0], timeout=3.0)


def answers(reply: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in reply.answer for rd in rrset)


@pytest.fixture(scope="module")
def fleet(lab_env: dict[str, str]) -> Iterator[Path]:
    # Whatever fleet size another test left is put back afterwards.
    before = int(lab(lab_env, "fleet").strip() or 0)
    lab(lab_env, "fleet", str(SIZE))
    yield Path(lab_env["MAILAUDIT_LAB_DIR"]) / "fleet"
    lab(lab_env, "fleet", str(before))


def test_every_customer_is_its_own_zone_on_the_shared_hosts(
    fleet: Path, lab_env: dict[str, str]
) -> None:
    knot = lab_env["MAILAUDIT_NAMESERVER"]
    domains = (fleet / "domains.txt").read_text().split()
    assert domains == [f"cust{i:05d}.test" for i in range(1, SIZE + 1)]
    shared = {
        line.split()[0]: line.split()[1]
        for line in (fleet / "hosts.txt").read_text().splitlines()
        if not line.startswith("#")
    }
    assert len(shared) == 10
    used: set[str] = set()
    for domain in domains:
        soa = ask(knot, domain, "SOA")
        assert soa.rcode() == dns.rcode.NOERROR
        assert soa.flags & dns.flags.AA
        (mx,) = answers(ask(knot, domain, "MX"))
        targets = [mx.split()[1]]
        for service, port in (("_submissions", 465), ("_submission", 587), ("_imaps", 993)):
            (srv,) = answers(ask(knot, f"{service}._tcp.{domain}", "SRV"))
            assert srv.split()[2] == str(port)
            targets.append(srv.split()[3])
        for target in targets:
            host = target.rstrip(".")
            assert host in shared, target
            assert answers(ask(knot, host, "A")) == [shared[host]]
            used.add(host)
        assert answers(ask(knot, domain, "TXT")) == ['"v=spf1 mx -all"']
        (dmarc,) = answers(ask(knot, f"_dmarc.{domain}", "TXT"))
        assert dmarc.startswith('"v=DMARC1; p=reject')
        for other in (f"imap.{domain}", f"mail.{domain}", f"autoconfig.{domain}"):
            assert ask(knot, other, "A").rcode() == dns.rcode.NXDOMAIN
        assert ask(knot, f"_mta-sts.{domain}", "TXT").rcode() == dns.rcode.NXDOMAIN
    assert used == set(shared) - {"pop3.guess.test"}  # POP3 SRV not asked above

    # Given the validating resolver, then the fleet resolves there too (unsigned: no AD)
    resolver = lab_env["MAILAUDIT_LAB_RESOLVER"]
    reply = ask(resolver, domains[-1], "MX", recurse=True)
    assert reply.rcode() == dns.rcode.NOERROR
    assert answers(reply)
    assert not reply.flags & dns.flags.AD
    assert ask(resolver, f"imap.{domains[-1]}", "A", recurse=True).rcode() == dns.rcode.NXDOMAIN
    # a customer beyond N does not exist: Knot is not authoritative for it
    assert ask(knot, f"cust{SIZE + 1:05d}.test", "SOA").rcode() == dns.rcode.REFUSED


async def test_a_customer_has_mx_spf_and_dmarc_judged_passed(fleet: Path, lab_ctx: Context) -> None:
    domain = (fleet / "domains.txt").read_text().split()[0]
    _, runs = judge_policy(await gather_policy(lab_ctx, domain))
    status = {run.check: run.status for run in runs}
    for check in ("dns.mx", "spf.record", "spf.all", "dmarc.record", "dmarc.policy"):
        assert status[check] is CheckStatus.PASSED, (check, status[check])


def test_fleet_0_removes_every_customer(fleet: Path, lab_env: dict[str, str]) -> None:
    lab(lab_env, "fleet", "0")
    assert lab(lab_env, "fleet").strip() == "0"
    assert not fleet.exists()
    knot = lab_env["MAILAUDIT_NAMESERVER"]
    assert ask(knot, "cust00001.test", "SOA").rcode() == dns.rcode.REFUSED
    # and the lab's own zones are untouched
    assert answers(ask(knot, "good.test", "MX")) == ["10 mail.good.test."]
