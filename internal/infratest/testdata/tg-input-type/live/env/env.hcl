locals {
  name  = "fixture"
  sizes = { min = "many" }
}
