variable "vpc_id" {
  type = string
}

variable "sizes" {
  type = object({
    min = number
    max = optional(number, 3)
  })
}

variable "name" {
  type    = string
  default = "b"
}
