include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/b.hcl"
}

dependency "a" {
  config_path = "${get_terragrunt_dir()}/../c"

  mock_outputs = {
    vpc_id = "vpc-mock"
  }
}

inputs = {
  vpc_id = dependency.a.outputs.vpc_id
}
