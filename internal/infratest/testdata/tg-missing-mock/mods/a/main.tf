variable "cidr" {
  type = string
}

variable "name" {
  type    = string
  default = "a"
}

output "vpc_id" {
  value = "vpc-1"
}

output "cidr_block" {
  value = var.cidr
}
