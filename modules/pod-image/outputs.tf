output "ami_id" {
  description = "The AMI built at apply time (null when `build_image` is false): the pods' `ami_id`."
  value       = var.build_image ? one([for a in aws_imagebuilder_image.this[0].output_resources[0].amis : a.image if a.region == local.region]) : null
}

output "ami_ssm_parameter_name" {
  description = "SSM parameter holding the latest pipeline build's AMI ID (for the pods' `ami_ssm_parameter`)."
  value       = local.ami_parameter
}

output "pipeline_arn" {
  description = "ARN of the image pipeline (start it with `aws imagebuilder start-image-pipeline-execution`)."
  value       = aws_imagebuilder_image_pipeline.this.arn
}

output "image_recipe_arn" {
  description = "ARN of the image recipe (Debian 12 + the pod component)."
  value       = aws_imagebuilder_image_recipe.this.arn
}

output "component_arn" {
  description = "ARN of the component running install.sh on packages.txt."
  value       = aws_imagebuilder_component.this.arn
}

output "packages" {
  description = "The pinned packages (`name=version`) every pod image carries, from packages.txt."
  value       = local.pins
}

output "required_domains" {
  description = "Names the management NAT proxy must allow for a build (its `allowed_domains`)."
  value       = local.required_domains
}

output "security_group_id" {
  description = "Security group of the build and test instances."
  value       = aws_security_group.build.id
}
