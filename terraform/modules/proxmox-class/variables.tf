variable "class_id" {
  description = "Class id, e.g. cs101; VM names and tags derive from it."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.class_id))
    error_message = "class_id is 2-31 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "template_vmids" {
  description = "The template's VMID on each node that has it (Proxmox Lab's per-node mapping)."
  type        = map(number)
}

variable "teacher_node" {
  description = "Node of the teacher VM (a full clone of the template); must have the template."
  type        = string
}

variable "base_node" {
  description = "Node of the class base template (a linked clone of the template, converted to a template)."
  type        = string
}

variable "students" {
  description = "Student VMs by name suffix (cs101-<key>): the node each goes to and, optionally, its VMID."
  type = map(object({
    node = string
    vmid = optional(number)
  }))
}

variable "teacher_vmid" {
  description = "VMID of the teacher VM; null lets Proxmox choose."
  type        = number
  default     = null
}

variable "base_vmid" {
  description = "VMID of the class base template; null lets Proxmox choose."
  type        = number
  default     = null
}

variable "base_name" {
  description = "Name of the class base template when it is a published version (cs101-base-v2); null means <class_id>-base."
  type        = string
  default     = null
}

variable "shared_storage" {
  description = "True when the template's disks are on storage every node sees, so students may go to any node."
  type        = bool
  default     = false
}

variable "extra_tags" {
  description = "Tags added to every VM of the class."
  type        = list(string)
  default     = []
}
