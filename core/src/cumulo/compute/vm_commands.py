"""Declarations of the 4.1 VM and instance-group commands (generated from 4.1's
command tables with ``api/tools/gen_declaration.py``, then wired to
:mod:`cumulo.compute.handlers`)."""

from __future__ import annotations

from cumulo.accounts.commands.params import ISRECURSIVE, LIST_DOMAIN, LISTALL, PAGING
from cumulo.compute import handlers as h
from cumulo.compute.allocation import MAX_USER_DATA_POST_BYTES
from cumulo.compute.views import INSTANCE_GROUP_FIELDS, USER_VM_FIELDS
from cumulo.sdk.api import ALL_ROLES, ANY_ADMIN, Command, Param, ParamType, Role

COMMANDS: tuple[Command, ...] = (
    Command(
        name="deployVirtualMachine",
        handler=h.deploy,
        params=(
            Param(
                "zoneid",
                ParamType.UUID,
                description="availability zone for the virtual machine",
                required=True,
                entity="Zone",
            ),
            Param(
                "serviceofferingid",
                ParamType.UUID,
                description="the ID of the service offering for the virtual machine",
                required=True,
                entity="ServiceOffering",
            ),
            Param(
                "templateid",
                ParamType.UUID,
                description="the ID of the template for the virtual machine",
                required=True,
                entity="Template",
            ),
            Param("name", description="host name for the virtual machine"),
            Param(
                "displayname", description="an optional user generated name for the virtual machine"
            ),
            Param(
                "account",
                description=(
                    "an optional account for the virtual machine. Must be used with domainId."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description=(
                    "an optional domainId for the virtual machine. If the account "
                    "parameter is used, domainId must also be used."
                ),
                entity="Domain",
            ),
            Param(
                "networkids",
                ParamType.LIST,
                description=(
                    "list of network ids used by virtual machine. Can't be specified with"
                    " ipToNetworkList parameter"
                ),
                item_type=ParamType.UUID,
                entity="Network",
            ),
            Param(
                "diskofferingid",
                ParamType.UUID,
                description=(
                    "the ID of the disk offering for the virtual machine. If the template"
                    " is of ISO format, the diskOfferingId is for the root disk volume. "
                    "Otherwise this parameter is used to indicate the offering for the "
                    "data disk volume. If the templateId parameter passed is from a "
                    "Template object, the diskOfferingId refers to a DATA Disk Volume "
                    "created. If the templateId parameter passed is from an ISO object, "
                    "the diskOfferingId refers to a ROOT Disk Volume created."
                ),
                entity="DiskOffering",
            ),
            Param(
                "size",
                ParamType.LONG,
                description=(
                    "the arbitrary size for the DATADISK volume. Mutually exclusive with "
                    "diskOfferingId"
                ),
            ),
            Param("group", description="an optional group for the virtual machine"),
            Param(
                "hypervisor", description="the hypervisor on which to deploy the virtual machine"
            ),
            Param(
                "userdata",
                description=(
                    "an optional binary data that can be sent to the virtual machine upon"
                    " a successful deployment. This binary data must be base64 encoded "
                    "before adding it to the request. Currently only HTTP GET is "
                    "supported. Using HTTP GET (via querystring), you can send up to 2KB "
                    "of data after base64 encoding."
                ),
                length=2048,
                post_length=MAX_USER_DATA_POST_BYTES,
            ),
            Param(
                "keypair",
                description="name of the ssh key pair used to login to the virtual machine",
            ),
            Param(
                "hostid",
                ParamType.UUID,
                description=(
                    "destination Host ID to deploy the VM to - parameter available for "
                    "root admin only"
                ),
                entity="Host",
            ),
            Param(
                "securitygroupids",
                ParamType.LIST,
                description=(
                    "comma separated list of security groups id that going to be applied "
                    "to the virtual machine. Should be passed only when vm is created "
                    "from a zone with Basic Network support. Mutually exclusive with "
                    "securitygroupnames parameter"
                ),
                item_type=ParamType.UUID,
                entity="SecurityGroup",
            ),
            Param(
                "securitygroupnames",
                ParamType.LIST,
                description=(
                    "comma separated list of security groups names that going to be "
                    "applied to the virtual machine. Should be passed only when vm is "
                    "created from a zone with Basic Network support. Mutually exclusive "
                    "with securitygroupids parameter"
                ),
                item_type=ParamType.STRING,
                entity="SecurityGroup",
            ),
            Param(
                "iptonetworklist",
                ParamType.MAP,
                description=(
                    "ip to network mapping. Can't be specified with networkIds parameter."
                    " Example: iptonetworklist[0].ip=10.10.10.11&iptonetworklist[0].ipv6="
                    "fc00:1234:5678::abcd&iptonetworklist[0].networkid=uuid - requests to"
                    " use ip 10.10.10.11 in network id=uuid"
                ),
            ),
            Param("ipaddress", description="the ip address for default vm's network"),
            Param("ip6address", description="the ipv6 address for default vm's network"),
            Param(
                "keyboard",
                description=(
                    "an optional keyboard device type for the virtual machine. valid "
                    "value can be one of de,de-ch,es,fi,fr,fr-be,fr-ch,is,it,jp,nl-"
                    "be,no,pt,uk,us"
                ),
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description="Deploy vm for the project",
                entity="Project",
            ),
            Param(
                "startvm",
                ParamType.BOOLEAN,
                description=(
                    "true if network offering supports specifying ip ranges; defaulted to"
                    " true if not specified"
                ),
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="deployvirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "Creates and automatically starts a virtual machine based on a service "
            "offering, disk offering, and template."
        ),
        related=(
            "destroyVirtualMachine",
            "stopVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
            "assignVirtualMachine",
        ),
        java_class="org.apache.cloudstack.api.command.user.vm.DeployVMCmd",
        create=h.deploy_create,
        instance_type="VirtualMachine",
        event_type="VM.CREATE",
    ),
    Command(
        name="listVirtualMachines",
        handler=h.list_vms_handler,
        params=(
            Param("groupid", ParamType.UUID, description="the group ID", entity="InstanceGroup"),
            Param("hostid", ParamType.UUID, description="the host ID", entity="Host"),
            Param(
                "id", ParamType.UUID, description="the ID of the virtual machine", entity="UserVm"
            ),
            Param("name", description="name of the virtual machine"),
            Param("podid", ParamType.UUID, description="the pod ID", entity="Pod"),
            Param("state", description="state of the virtual machine"),
            Param("zoneid", ParamType.UUID, description="the availability zone ID", entity="Zone"),
            Param(
                "forvirtualnetwork",
                ParamType.BOOLEAN,
                description=(
                    "list by network type; true if need to list vms using Virtual "
                    "Network, false otherwise"
                ),
            ),
            Param("networkid", ParamType.UUID, description="list by network id", entity="Network"),
            Param("hypervisor", description="the target hypervisor for the template"),
            Param(
                "storageid",
                ParamType.UUID,
                description="the storage ID where vm's volumes belong to",
                entity="StoragePool",
            ),
            Param(
                "details",
                ParamType.LIST,
                description=(
                    "comma separated list of host details requested, value can be a list "
                    "of [all, group, nics, stats, secgrp, tmpl, servoff, iso, volume, "
                    "min]. If no parameter is passed in, the details will be defaulted to"
                    " all"
                ),
                item_type=ParamType.STRING,
            ),
            Param(
                "templateid", ParamType.UUID, description="list vms by template", entity="Template"
            ),
            Param("isoid", ParamType.UUID, description="list vms by iso", entity="IsoVm"),
            Param("vpcid", ParamType.UUID, description="list vms by vpc", entity="Vpc"),
            Param("tags", ParamType.MAP, description="List resources by tags (key/value pairs)"),
            Param(
                "projectid", ParamType.UUID, description="list objects by project", entity="Project"
            ),
            Param(
                "account",
                description="list resources by account. Must be used with the domainId parameter.",
            ),
            LISTALL,
            LIST_DOMAIN,
            ISRECURSIVE,
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listvirtualmachinesresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description="List the virtual machines owned by the account.",
        java_class="org.apache.cloudstack.api.command.user.vm.ListVMsCmd",
    ),
    Command(
        name="startVirtualMachine",
        handler=h.start_vm,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
            Param(
                "hostid",
                ParamType.UUID,
                description=(
                    "destination Host ID to deploy the VM to - parameter available for "
                    "root admin only"
                ),
                entity="Host",
                since="3.0.1",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="startvirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description="Starts a virtual machine.",
        related=(
            "deployVirtualMachine",
            "destroyVirtualMachine",
            "stopVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
            "assignVirtualMachine",
            "migrateVirtualMachine",
            "detachIso",
        ),
        java_class="org.apache.cloudstack.api.command.user.vm.StartVMCmd",
        instance_type="VirtualMachine",
        event_type="VM.START",
    ),
    Command(
        name="stopVirtualMachine",
        handler=h.stop_vm,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
            Param(
                "forced",
                ParamType.BOOLEAN,
                description=(
                    "Force stop the VM (vm is marked as Stopped even when command fails "
                    "to be send to the backend).  The caller knows the VM is stopped."
                ),
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="stopvirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description="Stops a virtual machine.",
        related=("destroyVirtualMachine", "listVirtualMachines"),
        java_class="org.apache.cloudstack.api.command.user.vm.StopVMCmd",
        instance_type="VirtualMachine",
        event_type="VM.STOP",
    ),
    Command(
        name="rebootVirtualMachine",
        handler=h.reboot_vm,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="rebootvirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description="Reboots a virtual machine.",
        related=(
            "deployVirtualMachine",
            "destroyVirtualMachine",
            "startVirtualMachine",
            "stopVirtualMachine",
            "resetPasswordForVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
            "changeServiceForVirtualMachine",
            "assignVirtualMachine",
            "migrateVirtualMachine",
            "recoverVirtualMachine",
            "detachIso",
            "removeNicFromVirtualMachine",
            "updateDefaultNicForVirtualMachine",
        ),
        java_class="org.apache.cloudstack.api.command.user.vm.RebootVMCmd",
        instance_type="VirtualMachine",
        event_type="VM.REBOOT",
    ),
    Command(
        name="destroyVirtualMachine",
        handler=h.destroy_vm,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="destroyvirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "Destroys a virtual machine. Once destroyed, only the administrator can recover it."
        ),
        related=("listVirtualMachines",),
        java_class="org.apache.cloudstack.api.command.user.vm.DestroyVMCmd",
        instance_type="VirtualMachine",
        event_type="VM.DESTROY",
    ),
    Command(
        name="recoverVirtualMachine",
        handler=h.recover_vm,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
        ),
        roles=ANY_ADMIN,
        response_name="recovervirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description="Recovers a virtual machine.",
        related=(
            "deployVirtualMachine",
            "destroyVirtualMachine",
            "startVirtualMachine",
            "stopVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
            "assignVirtualMachine",
            "migrateVirtualMachine",
            "detachIso",
        ),
        java_class="org.apache.cloudstack.api.command.admin.vm.RecoverVMCmd",
        event_type="VM.CREATE",
    ),
    Command(
        name="restoreVirtualMachine",
        handler=h.restore_vm,
        params=(
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="Virtual Machine ID",
                required=True,
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="restorevmresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description="Restore a VM to original template or specific snapshot",
        since="3.0.0",
        related=("destroyVirtualMachine", "stopVirtualMachine", "listVirtualMachines"),
        java_class="org.apache.cloudstack.api.command.user.vm.RestoreVMCmd",
        instance_type="VirtualMachine",
        event_type="VM.RESTORE",
    ),
    Command(
        name="updateVirtualMachine",
        handler=h.update_vm,
        params=(
            Param("displayname", description="user generated name"),
            Param("group", description="group of the virtual machine"),
            Param(
                "haenable",
                ParamType.BOOLEAN,
                description=(
                    "true if high-availability is enabled for the virtual machine, false otherwise"
                ),
            ),
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
            Param(
                "ostypeid",
                ParamType.UUID,
                description="the ID of the OS type that best represents this VM.",
                entity="GuestOS",
            ),
            Param(
                "userdata",
                description=(
                    "an optional binary data that can be sent to the virtual machine upon"
                    " a successful deployment. This binary data must be base64 encoded "
                    "before adding it to the request. Currently only HTTP GET is "
                    "supported. Using HTTP GET (via querystring), you can send up to 2KB "
                    "of data after base64 encoding."
                ),
                length=2048,
                post_length=MAX_USER_DATA_POST_BYTES,
            ),
        ),
        roles=ALL_ROLES,
        response_name="updatevirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "Updates properties of a virtual machine. The VM has to be stopped and "
            "restarted for the new properties to take effect. UpdateVirtualMachine does "
            "not first check whether the VM is stopped. Therefore, stop the VM manually "
            "before issuing this call."
        ),
        related=(
            "destroyVirtualMachine",
            "stopVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
        ),
        java_class="org.apache.cloudstack.api.command.user.vm.UpdateVMCmd",
        event_type="VM.UPDATE",
    ),
    Command(
        name="changeServiceForVirtualMachine",
        handler=h.change_service,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
            Param(
                "serviceofferingid",
                ParamType.UUID,
                description="the service offering ID to apply to the virtual machine",
                required=True,
                entity="ServiceOffering",
            ),
        ),
        roles=ALL_ROLES,
        response_name="changeserviceforvirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "Changes the service offering for a virtual machine. The virtual machine must"
            ' be in a "Stopped" state for this command to take effect.'
        ),
        related=(
            "deployVirtualMachine",
            "destroyVirtualMachine",
            "startVirtualMachine",
            "stopVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
            "assignVirtualMachine",
            "migrateVirtualMachine",
            "recoverVirtualMachine",
            "detachIso",
        ),
        java_class="org.apache.cloudstack.api.command.user.vm.UpgradeVMCmd",
        event_type="VM.UPGRADE",
    ),
    Command(
        name="migrateVirtualMachine",
        handler=h.migrate_vm,
        params=(
            Param(
                "hostid",
                ParamType.UUID,
                description=(
                    "Destination Host ID to migrate VM to. Required for live migrating a "
                    "VM from host to host"
                ),
                entity="Host",
            ),
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="the ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
            Param(
                "storageid",
                ParamType.UUID,
                description=(
                    "Destination storage pool ID to migrate VM volumes to. Required for "
                    "migrating the root disk volume"
                ),
                entity="StoragePool",
            ),
        ),
        roles=Role.ADMIN,
        is_async=True,
        response_name="migratevirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "Attempts Migration of a VM to a different host or Root volume of the vm to a"
            " different storage pool"
        ),
        related=(
            "deployVirtualMachine",
            "destroyVirtualMachine",
            "stopVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
            "assignVirtualMachine",
        ),
        java_class="org.apache.cloudstack.api.command.admin.vm.MigrateVMCmd",
        instance_type="VirtualMachine",
        event_type="VM.MIGRATE",
    ),
    Command(
        name="assignVirtualMachine",
        handler=h.assign_vm,
        params=(
            Param(
                "virtualmachineid",
                ParamType.UUID,
                description="id of the VM to be moved",
                required=True,
                entity="UserVm",
            ),
            Param("account", description="account name of the new VM owner.", required=True),
            Param(
                "domainid",
                ParamType.UUID,
                description="domain id of the new VM owner.",
                required=True,
                entity="Domain",
            ),
            Param(
                "networkids",
                ParamType.LIST,
                description=(
                    "list of new network ids in which the moved VM will participate. In "
                    "case no network ids are provided the VM will be part of the default "
                    "network for that zone. In case there is no network yet created for "
                    "the new account the default network will be created."
                ),
                item_type=ParamType.UUID,
                entity="Network",
            ),
            Param(
                "securitygroupids",
                ParamType.LIST,
                description=(
                    "list of security group ids to be applied on the virtual machine. In "
                    "case no security groups are provided the VM is part of the default "
                    "security group."
                ),
                item_type=ParamType.UUID,
                entity="SecurityGroup",
            ),
        ),
        roles=Role.ADMIN,
        response_name="moveuservmresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "Assign a VM from one account to another under the same domain. This API is "
            "available for Basic zones with security groups and Advance zones with guest "
            "networks. The VM is restricted to move between accounts under same domain."
        ),
        since="3.0.0",
        related=(
            "destroyVirtualMachine",
            "stopVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
        ),
        java_class="org.apache.cloudstack.api.command.admin.vm.AssignVMCmd",
        event_type="VM.MOVE",
    ),
    Command(
        name="resetPasswordForVirtualMachine",
        handler=h.reset_password,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
            # hidden in 4.1 (expose=false): Param('password', description=''),
        ),
        roles=ALL_ROLES,
        is_async=True,
        response_name="resetpasswordforvirtualmachineresponse",
        response_class="UserVmResponse",
        response_fields=USER_VM_FIELDS,
        description=(
            "Resets the password for virtual machine. The virtual machine must be in a "
            '"Stopped" state and the template must already support this feature for this '
            "command to take effect. [async]"
        ),
        related=(
            "deployVirtualMachine",
            "destroyVirtualMachine",
            "startVirtualMachine",
            "stopVirtualMachine",
            "updateVirtualMachine",
            "listVirtualMachines",
            "restoreVirtualMachine",
            "changeServiceForVirtualMachine",
            "assignVirtualMachine",
            "migrateVirtualMachine",
            "recoverVirtualMachine",
            "detachIso",
        ),
        java_class="org.apache.cloudstack.api.command.user.vm.ResetVMPasswordCmd",
        instance_type="VirtualMachine",
        event_type="VM.RESETPASSWORD",
    ),
    Command(
        name="getVMPassword",
        handler=h.get_vm_password,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="The ID of the virtual machine",
                required=True,
                entity="UserVm",
            ),
        ),
        roles=ALL_ROLES,
        response_name="getvmpasswordresponse",
        response_class="GetVMPasswordResponse",
        response_fields=("encryptedpassword",),
        description="Returns an encrypted password for the VM",
        java_class="org.apache.cloudstack.api.command.user.vm.GetVMPasswordCmd",
    ),
    Command(
        name="createInstanceGroup",
        handler=h.create_group,
        params=(
            Param("name", description="the name of the instance group", required=True),
            Param(
                "account",
                description=(
                    "the account of the instance group. The account parameter must be "
                    "used with the domainId parameter."
                ),
            ),
            Param(
                "domainid",
                ParamType.UUID,
                description="the domain ID of account owning the instance group",
                entity="Domain",
            ),
            Param(
                "projectid",
                ParamType.UUID,
                description="The project of the instance group",
                entity="ProjectAccount",
            ),
        ),
        roles=ALL_ROLES,
        response_name="createinstancegroupresponse",
        response_class="InstanceGroupResponse",
        response_fields=INSTANCE_GROUP_FIELDS,
        description="Creates a vm group",
        java_class="org.apache.cloudstack.api.command.user.vmgroup.CreateVMGroupCmd",
    ),
    Command(
        name="deleteInstanceGroup",
        handler=h.delete_group,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="the ID of the instance group",
                required=True,
                entity="InstanceGroup",
            ),
        ),
        roles=ALL_ROLES,
        response_name="deleteinstancegroupresponse",
        response_class="SuccessResponse",
        response_fields=(
            "success",
            "displaytext",
        ),
        description="Deletes a vm group",
        java_class="org.apache.cloudstack.api.command.user.vmgroup.DeleteVMGroupCmd",
    ),
    Command(
        name="updateInstanceGroup",
        handler=h.update_group,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="Instance group ID",
                required=True,
                entity="InstanceGroup",
            ),
            Param("name", description="new instance group name"),
        ),
        roles=ALL_ROLES,
        response_name="updateinstancegroupresponse",
        response_class="InstanceGroupResponse",
        response_fields=INSTANCE_GROUP_FIELDS,
        description="Updates a vm group",
        related=("createInstanceGroup",),
        java_class="org.apache.cloudstack.api.command.user.vmgroup.UpdateVMGroupCmd",
    ),
    Command(
        name="listInstanceGroups",
        handler=h.list_groups,
        params=(
            Param(
                "id",
                ParamType.UUID,
                description="list instance groups by ID",
                entity="InstanceGroup",
            ),
            Param("name", description="list instance groups by name"),
            Param(
                "projectid", ParamType.UUID, description="list objects by project", entity="Project"
            ),
            Param(
                "account",
                description="list resources by account. Must be used with the domainId parameter.",
            ),
            LISTALL,
            LIST_DOMAIN,
            ISRECURSIVE,
            *PAGING,
        ),
        roles=ALL_ROLES,
        response_name="listinstancegroupsresponse",
        response_class="InstanceGroupResponse",
        response_fields=INSTANCE_GROUP_FIELDS,
        description="Lists vm groups",
        related=("createInstanceGroup", "updateInstanceGroup"),
        java_class="org.apache.cloudstack.api.command.user.vmgroup.ListVMGroupsCmd",
    ),
)
