resource "aws_ecr_repository" "r" {
  name                 = "fixture"
  image_tag_mutability = "IMMUTABLE"

  encryption_configuration {
    encryption_type = "AES256"
  }
}
