# Portal's image repository. release.yml pushes each release as an OCI image index (linux/amd64
# and linux/arm64) tagged with its version; the per-platform manifests under the index carry no
# tag. So the lifecycle policy only counts releases: an "expire untagged" rule, as the ecr module
# has for the single-platform service images, would delete the platform images of releases still
# kept and break their pulls.

resource "aws_ecr_repository" "portal" {
  name                 = var.repository_name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.this.arn
  }

  tags = merge(var.tags, { Service = "portal" })
}

resource "aws_ecr_lifecycle_policy" "portal" {
  repository = aws_ecr_repository.portal.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep the ${var.max_release_count} most recent releases"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["v"]
          countType     = "imageCountMoreThan"
          countNumber   = var.max_release_count
        }
        action = { type = "expire" }
      },
    ]
  })
}
