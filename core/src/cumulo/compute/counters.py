"""How user VMs are counted, for ``updateResourceCount`` (:mod:`cumulo.limits.counters`):
what an account holds and has not destroyed, as 4.1's ``ResourceLimitManagerImpl.
recalculateAccountResourceCount`` counts it. (Volumes are counted by the volumes area
the same way: not ``Destroy``, ``Expunging`` or ``Expunged``.)"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cumulo.compute.models import VirtualMachine, VmState, VmType

# A destroyed VM, one whose deploy failed, and one being expunged count no more.
_NOT_COUNTED_VMS = (VmState.DESTROYED.value, VmState.ERROR.value, VmState.EXPUNGING.value)


def count_vms(session: Session, account_ids: Sequence[int]) -> dict[int, int]:
    """Live user VMs per account (one statement)."""
    rows = session.execute(
        select(VirtualMachine.account_id, func.count())
        .where(
            VirtualMachine.account_id.in_(account_ids),
            VirtualMachine.removed.is_(None),
            VirtualMachine.type == VmType.USER.value,  # routers count against no limit
            VirtualMachine.state.not_in(_NOT_COUNTED_VMS),
        )
        .group_by(VirtualMachine.account_id)
    )
    return {account_id: int(count) for account_id, count in rows}
