output "ami_id" {
  description = "The pod AMI built during apply: the pods' `ami_id`."
  value       = module.pod_image.ami_id
}

output "ami_ssm_parameter_name" {
  description = "SSM parameter with the latest pipeline build's AMI ID (the pods' `ami_ssm_parameter`)."
  value       = module.pod_image.ami_ssm_parameter_name
}

output "pipeline_arn" {
  description = "ARN of the pod image pipeline."
  value       = module.pod_image.pipeline_arn
}

output "kms_key_arn" {
  description = "The key encrypting the image (and the pods' volumes)."
  value       = aws_kms_key.this.arn
}

output "required_domains" {
  description = "Names the management NAT proxy must allow for a build."
  value       = module.pod_image.required_domains
}
