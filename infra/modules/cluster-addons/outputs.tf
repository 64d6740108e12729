output "alb_security_group_id" {
  description = "Security group for the ALB; Ingresses name it in alb.ingress.kubernetes.io/security-groups."
  value       = aws_security_group.alb.id
}

output "ingress_class_name" {
  description = "Ingress class served by the AWS Load Balancer Controller."
  value       = "alb"
}

output "load_balancer_controller_role_arn" {
  description = "IAM role of the AWS Load Balancer Controller."
  value       = aws_iam_role.load_balancer_controller.arn
}

output "cluster_autoscaler_role_arn" {
  description = "IAM role of the Cluster Autoscaler."
  value       = aws_iam_role.cluster_autoscaler.arn
}
