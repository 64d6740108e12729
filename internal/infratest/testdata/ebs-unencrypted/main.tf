resource "aws_launch_template" "nodes" {
  name_prefix = "fixture-"

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size = 50
      encrypted   = false
    }
  }
}
