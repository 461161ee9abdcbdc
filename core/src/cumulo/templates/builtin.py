"""The built-in templates a new cloud starts with (4.1 seeds them in ``vm_template``).

4.1 ships one public, featured, cross-zone template per hypervisor, owned by the
``system`` account, of type ``BUILTIN``, which the secondary storage VM downloads to
every store of a zone that runs that hypervisor (REQ-INIT-02: the administrator waits
for ``Download Complete`` before launching the first VM). cumulo keeps the same rows
and the same facts (names, formats, OS types, the URLs 4.1 downloads them from); they
are written by :func:`ensure_builtin_templates` the first time a store is synchronised
(:mod:`cumulo.templates.sync`), because the owning ``system`` account is seeded after
the migrations run.

The simulator's built-in (``CentOS 5.3(64-bit) no GUI (Simulator)``, as in 4.1's
simulator seed) has a ``simulator://`` URL: the simulator's storage driver is the
source of its images, so nothing is fetched from the network (on a simulated store
it is an entry; on a ``file://`` store, a small image file standing for the disk).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cumulo.accounts.models import Account
from cumulo.db.base import new_uuid
from cumulo.limits import service as limits
from cumulo.limits.types import ResourceType
from cumulo.setup.seed import SYSTEM_ACCOUNT_ID
from cumulo.templates.models import TemplateState, TemplateType, VMTemplate


@dataclass(frozen=True)
class BuiltinTemplate:
    """One built-in template's facts.

    :param unique_name: its stable key (4.1's ``vm_template.unique_name``).
    :param guest_os_id: the seeded ``guest_os`` id (4.1's ids).
    """

    unique_name: str
    name: str
    format: str
    hypervisor: str
    guest_os_id: int
    url: str
    bits: int = 64


BUILTIN_TEMPLATES: tuple[BuiltinTemplate, ...] = (
    BuiltinTemplate(
        "centos55-x86_64",
        "CentOS 5.5(64-bit) no GUI (KVM)",
        "QCOW2",
        "KVM",
        112,
        "http://download.cloud.com/releases/2.2.0/eec2209b-9875-3c8d-92be-c001bd8a0faf.qcow2.bz2",
    ),
    BuiltinTemplate(
        "centos53-x86_64",
        "CentOS 5.3(64-bit) no GUI (XenServer)",
        "VHD",
        "XenServer",
        12,
        "http://download.cloud.com/templates/builtin/f59f18fb-ae94-4f97-afd2-f84755767aca.vhd.bz2",
    ),
    BuiltinTemplate(
        "simulator-Centos",
        "CentOS 5.3(64-bit) no GUI (Simulator)",
        "VHD",
        "Simulator",
        12,
        "simulator://images/centos53-x86_64.vhd?size=2GiB",
    ),
)
"""The built-in templates, one per hypervisor that has one."""


def ensure_builtin_templates(session: Session) -> list[VMTemplate]:
    """Write the built-in templates that are missing (by ``unique_name``, removed ones
    included: an operator who deleted one keeps it deleted); return every live one.

    In the caller's transaction; counted against the ``system`` account (a root admin:
    never limited, but counts are kept).
    """
    wanted = {builtin.unique_name: builtin for builtin in BUILTIN_TEMPLATES}
    existing = {
        template.unique_name: template
        for template in session.scalars(
            select(VMTemplate).where(
                VMTemplate.template_type == TemplateType.BUILTIN.value,
                VMTemplate.unique_name.in_(wanted),
            )
        )
    }
    missing = [builtin for name, builtin in wanted.items() if name not in existing]
    if missing:
        system = session.get(Account, SYSTEM_ACCOUNT_ID)
        if system is None:  # not seeded yet: nothing can own them
            return [t for t in existing.values() if t.removed is None]
        for builtin in missing:
            template = _template(builtin, system)
            session.add(template)
            existing[builtin.unique_name] = template
            limits.reserve(session, system.id, ResourceType.TEMPLATE)
        session.flush()
    return [t for t in existing.values() if t.removed is None]


def _template(builtin: BuiltinTemplate, owner: Account) -> VMTemplate:
    return VMTemplate(
        uuid=new_uuid(),
        unique_name=builtin.unique_name,
        name=builtin.name,
        display_text=builtin.name,
        format=builtin.format,
        hypervisor_type=builtin.hypervisor,
        guest_os_id=builtin.guest_os_id,
        account_id=owner.id,
        domain_id=owner.domain_id,
        public=True,
        featured=True,
        password_enabled=False,
        sshkey_enabled=False,
        bootable=True,
        extractable=True,
        requires_hvm=False,
        bits=builtin.bits,
        cross_zones=True,
        template_type=TemplateType.BUILTIN.value,
        url=builtin.url,
        checksum=None,
        state=TemplateState.ACTIVE.value,
    )
