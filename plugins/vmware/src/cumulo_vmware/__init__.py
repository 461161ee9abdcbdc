"""cumulo VMware: vSphere clusters managed through vCenter with pyVmomi.

:mod:`.vcenter` parses the cluster and host URLs, keeps one vCenter session per
(vCenter, user) in each process and turns vSphere faults into the contract's errors;
:mod:`.hypervisor` is the ``VMware`` hypervisor driver; :mod:`.vmconfig` builds VM
configuration specs; :mod:`.disks` handles VMDKs and port groups; :mod:`.storage` is
the ``VMware`` storage driver (datastores as primary storage, with :mod:`.templates`
seeding template disks; a directory as secondary storage, :mod:`.secondary`).
"""
