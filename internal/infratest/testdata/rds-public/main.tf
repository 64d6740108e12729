resource "aws_kms_key" "k" {
  description         = "fixture"
  enable_key_rotation = true
}

resource "aws_db_instance" "db" {
  identifier          = "fixture"
  engine              = "postgres"
  instance_class      = "db.t4g.micro"
  allocated_storage   = 20
  storage_encrypted   = true
  kms_key_id          = aws_kms_key.k.arn
  publicly_accessible = true
}
