locals {
  name  = "fixture"
  sizes = { min = 1 }
}
