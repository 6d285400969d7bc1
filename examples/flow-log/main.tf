provider "aws" {
  region = var.region
}

# The VPC whose traffic is logged; modules/core-vpc and modules/workload-vpc pass their own.
resource "aws_vpc" "this" {
  cidr_block = var.cidr

  tags = merge(var.tags, { Name = var.name })
}

# The VPC's default security group, kept without rules (as every VPC of the project).
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-default-deny" })
}

module "flow_log" {
  source = "../../modules/flow-log"

  name   = var.name
  vpc_id = aws_vpc.this.id

  tags = var.tags
}
