# Portal's PostgreSQL: one RDS instance in the private subnets, reachable on 5432 from the
# cluster's nodes only, encrypted (storage, snapshots, backups, credentials) with this module's
# key. RDS generates the master password and keeps it in Secrets Manager, so it never passes
# through OpenTofu or its state; the chart's ExternalSecret builds PORTAL_DATABASE_URL from it.

locals {
  db_identifier = "${var.name_prefix}-portal"
  db_family     = "postgres${split(".", var.db_engine_version)[0]}"
}

resource "aws_db_subnet_group" "portal" {
  name        = local.db_identifier
  description = "Private subnets of Portal's database"
  subnet_ids  = var.private_subnet_ids

  tags = merge(var.tags, { Service = "portal" })
}

# No egress rules: the database answers connections and starts none.
resource "aws_security_group" "database" {
  name        = "${local.db_identifier}-db"
  description = "Portal's PostgreSQL: 5432 from the EKS nodes only"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${local.db_identifier}-db", Service = "portal" })
}

resource "aws_vpc_security_group_ingress_rule" "database_from_nodes" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the EKS nodes (Portal's pods use the node's network)"
  referenced_security_group_id = var.cluster_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

resource "aws_db_parameter_group" "portal" {
  name_prefix = "${local.db_identifier}-"
  description = "Portal's PostgreSQL: TLS required"
  family      = local.db_family

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  tags = merge(var.tags, { Service = "portal" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "portal" {
  identifier     = local.db_identifier
  engine         = "postgres"
  engine_version = var.db_engine_version
  instance_class = var.db_instance_class

  db_name  = "portal"
  username = "portal"
  port     = 5432

  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.this.arn

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.this.arn

  db_subnet_group_name   = aws_db_subnet_group.portal.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  multi_az               = var.db_multi_az
  parameter_group_name   = aws_db_parameter_group.portal.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"

  backup_retention_period  = var.db_backup_retention_days
  backup_window            = "03:00-03:30"
  maintenance_window       = "sun:04:00-sun:05:00"
  copy_tags_to_snapshot    = true
  delete_automated_backups = false

  deletion_protection       = var.db_deletion_protection
  skip_final_snapshot       = var.db_skip_final_snapshot
  final_snapshot_identifier = "${local.db_identifier}-final"

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = false

  tags = merge(var.tags, { Service = "portal" })
}

# RDS rotates its managed password every 7 days unless told otherwise. Portal reads
# PORTAL_DATABASE_URL once, at start, so a rotation needs a restart once External Secrets has
# copied the new password (runbook): a known time makes that a routine rather than an outage.
resource "aws_secretsmanager_secret_rotation" "database" {
  secret_id          = aws_db_instance.portal.master_user_secret[0].secret_arn
  rotate_immediately = false

  rotation_rules {
    schedule_expression = var.db_password_rotation_schedule
  }
}
