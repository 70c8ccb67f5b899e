output "teacher_vmid" {
  description = "VMID of the teacher VM."
  value       = proxmox_virtual_environment_vm.teacher.vm_id
}

output "base_vmid" {
  description = "VMID of the class base template."
  value       = proxmox_virtual_environment_vm.base.vm_id
}

output "student_vmids" {
  description = "VMID of each student VM, by name suffix."
  value       = { for key, vm in proxmox_virtual_environment_vm.student : key => vm.vm_id }
}
