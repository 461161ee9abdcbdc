"""The unchanged ``cs`` client deploys, stops, starts, reboots and destroys VMs on
``cumulo serve --embedded`` over real HTTP, following each job (issue 5, "Must show").

``fetch_result=True`` is what the ``cs`` command line does for every async command: it
polls ``queryAsyncJobResult`` until ``jobstatus`` leaves 0 and needs ``jobresultcode``
(clients.md §1). One test follows a job by hand to pin the job's wire shape; another
shows a failed job reaching ``cs`` as its "Job failure" with 4.1's error fields. The
VMs are deployed by a tenant (a user account with its own keys) as well as the admin.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from cs import CloudStack, CloudStackApiException
from test_vm_clients import Cloud, embedded_cloud

JOB_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    with embedded_cloud(tmp_path_factory.mktemp("cs-compute")) as running:
        yield running


def _deploy_args(cloud: Cloud, cs: CloudStack, name: str) -> dict[str, Any]:
    (zone,) = cs.listZones(name="Demo")["zone"]
    offering = next(
        o for o in cs.listServiceOfferings()["serviceoffering"] if o["name"] == "Small Instance"
    )
    return {
        "zoneid": zone["id"],
        "templateid": cloud.template,
        "serviceofferingid": offering["id"],
        "name": name,
    }


def _state(cloud: Cloud, vm_id: str) -> str:
    """The VM's state as the admin's ``listVirtualMachines`` shows it."""
    (vm,) = cloud.cs().listVirtualMachines(id=vm_id, listall="true")["virtualmachine"]
    return str(vm["state"])


@pytest.mark.parametrize("who", ["admin", "tenant"])
def test_cs_deploys_stops_starts_reboots_and_destroys(cloud: Cloud, who: str) -> None:
    cs = cloud.cs() if who == "admin" else cloud.cs(cloud.tenant("cs"))
    args = _deploy_args(cloud, cs, f"cs-{who}")
    deployed = cs.deployVirtualMachine(**args, fetch_result=True)["virtualmachine"]
    assert deployed["state"] == "Running" and deployed["nic"][0]["ipaddress"]
    assert deployed["name"] == f"cs-{who}" and deployed["templateid"] == cloud.template
    vm_id = deployed["id"]
    assert _state(cloud, vm_id) == "Running"

    stopped = cs.stopVirtualMachine(id=vm_id, fetch_result=True)["virtualmachine"]
    assert stopped["state"] == "Stopped" and "hostid" not in stopped
    assert _state(cloud, vm_id) == "Stopped"

    started = cs.startVirtualMachine(id=vm_id, fetch_result=True)["virtualmachine"]
    assert started["state"] == "Running"
    assert _state(cloud, vm_id) == "Running"

    rebooted = cs.rebootVirtualMachine(id=vm_id, fetch_result=True)["virtualmachine"]
    assert rebooted["state"] == "Running"

    destroyed = cs.destroyVirtualMachine(id=vm_id, fetch_result=True)["virtualmachine"]
    assert destroyed["state"] == "Destroyed"
    assert _state(cloud, vm_id) == "Destroyed"  # the admin still sees it until expunged


def test_cs_follows_a_deploy_job_by_hand(cloud: Cloud) -> None:
    cs = cloud.cs()
    answer = cs.deployVirtualMachine(**_deploy_args(cloud, cs, "cs-by-hand"))
    # 4.1's async create answer: the job and the new VM's id.
    assert set(answer) == {"jobid", "id"}, answer
    deadline = time.monotonic() + JOB_TIMEOUT
    job = cs.queryAsyncJobResult(jobid=answer["jobid"])
    while job["jobstatus"] == 0 and time.monotonic() < deadline:
        assert job["jobresultcode"] == 0 and "jobresult" not in job, job
        time.sleep(0.5)
        job = cs.queryAsyncJobResult(jobid=answer["jobid"])
    assert job["jobstatus"] == 1 and job["jobresultcode"] == 0, job
    assert job["jobid"] == answer["jobid"] and job["jobresulttype"] == "object"
    assert job["jobinstancetype"] == "VirtualMachine" and job["jobinstanceid"] == answer["id"]
    vm = job["jobresult"]["virtualmachine"]
    assert vm["id"] == answer["id"] and vm["state"] == "Running"
    assert cs.destroyVirtualMachine(id=answer["id"], fetch_result=True)["virtualmachine"]


def test_cs_reports_a_failed_job_with_41s_error_fields(cloud: Cloud) -> None:
    cs = cloud.cs()
    huge = cs.createServiceOffering(
        name="cs-huge", displaytext="More memory than any host", cpunumber=1, cpuspeed=500,
        memory=1024 * 1024,
    )["serviceoffering"]  # fmt: skip
    args = {**_deploy_args(cloud, cs, "cs-huge"), "serviceofferingid": huge["id"]}
    with pytest.raises(CloudStackApiException) as failure:
        cs.deployVirtualMachine(**args, fetch_result=True)
    assert failure.value.args[0] == "Job failure"
    error = failure.value.error
    assert error["errorcode"] == 533 and "memory" in error["errortext"], error


def test_cs_pages_through_the_vms(cloud: Cloud) -> None:
    cs = cloud.cs()
    ids = [
        cs.deployVirtualMachine(**_deploy_args(cloud, cs, f"cs-page-{n}"), startvm="false")["id"]
        for n in range(3)
    ]
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline and any(_state(cloud, i) != "Stopped" for i in ids):
        time.sleep(0.5)
    everything = cs.listVirtualMachines(listall="true", fetch_list=True)
    assert set(ids) <= {vm["id"] for vm in everything}
    paged = [
        vm["id"]
        for page in (1, 2, 3)
        for vm in cs.listVirtualMachines(listall="true", page=page, pagesize=1).get(
            "virtualmachine", []
        )
    ]
    assert len(paged) == 3 and len(set(paged)) == 3
    count = cs.listVirtualMachines(listall="true", pagesize=1, page=1)["count"]
    assert count == len(everything)
