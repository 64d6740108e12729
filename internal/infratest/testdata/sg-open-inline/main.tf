resource "aws_security_group" "nodes" {
  name   = "fixture-nodes"
  vpc_id = "vpc-1"

  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
