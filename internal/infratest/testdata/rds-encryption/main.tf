resource "aws_db_instance" "db" {
  identifier          = "fixture"
  engine              = "postgres"
  instance_class      = "db.t4g.micro"
  allocated_storage   = 20
  publicly_accessible = false
}
