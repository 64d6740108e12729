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
