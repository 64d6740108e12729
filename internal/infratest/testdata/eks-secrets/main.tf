resource "aws_eks_cluster" "c" {
  name     = "fixture"
  role_arn = "arn:aws:iam::000000000000:role/eks"

  vpc_config {
    subnet_ids = ["subnet-1", "subnet-2"]
  }
}
