#!/bin/sh
# Regenerates testdata/cookiecutter/ with the real cookiecutter (Debian's package, 1.7.3) from the
# skeleton and the values the template's fetch:cookiecutter step receives for testdata/values.yaml.
# TestTerragruntMatchesCookiecutter checks that Portal's fetch:cookiecutter produces the same files.
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
HOME=$out cookiecutter --no-input -o "$out" ../skeleton service_name=ledger-sync owner=payments-team \
  environment=prod aws_account_id=210987654321 aws_region=eu-west-1 needs_rds=yes \
  rds_instance_class=db.t4g.medium needs_s3=no needs_sqs=yes
rm -rf cookiecutter
mv "$out/ledger-sync" cookiecutter
rm -rf "$out"
