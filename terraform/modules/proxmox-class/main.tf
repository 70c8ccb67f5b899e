locals {
  tags = concat(["lab", "class-${var.class_id}"], var.extra_tags)
}

resource "proxmox_virtual_environment_vm" "teacher" {
  name      = "${var.class_id}-teacher"
  node_name = var.teacher_node
  vm_id     = var.teacher_vmid
  tags      = concat(local.tags, ["role-teacher"])
  started   = false

  clone {
    vm_id     = var.template_vmids[var.teacher_node]
    node_name = var.teacher_node
    full      = true
  }

  # Proxmox Lab powers VMs on and off, and an adopted VM was cloned before Terraform knew it.
  lifecycle {
    ignore_changes = [clone, started]
  }
}

resource "proxmox_virtual_environment_vm" "base" {
  name      = coalesce(var.base_name, "${var.class_id}-base")
  node_name = var.base_node
  vm_id     = var.base_vmid
  tags      = concat(local.tags, ["role-base"])
  template  = true
  started   = false

  clone {
    vm_id     = var.template_vmids[var.base_node]
    node_name = var.base_node
    full      = false
  }

  lifecycle {
    ignore_changes = [clone, started]
  }
}

resource "proxmox_virtual_environment_vm" "student" {
  for_each = var.students

  name      = "${var.class_id}-${each.key}"
  node_name = each.value.node
  vm_id     = each.value.vmid
  tags      = concat(local.tags, ["role-student"])
  started   = false

  clone {
    vm_id     = proxmox_virtual_environment_vm.base.vm_id
    node_name = var.base_node
    full      = false
  }

  lifecycle {
    ignore_changes = [clone, started]
    # A new linked clone on local storage must be on the base's node; an adopted VM (vmid set) is
    # where Proxmox Lab put it, next to a copy of the base.
    precondition {
      condition     = var.shared_storage || each.value.node == var.base_node || each.value.vmid != null
      error_message = "Linked clones on local storage stay on the base template's node; set shared_storage = true or place the student on ${var.base_node}."
    }
  }
}
