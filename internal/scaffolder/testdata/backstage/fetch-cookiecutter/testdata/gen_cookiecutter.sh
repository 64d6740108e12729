#!/bin/sh
# Regenerates testdata/cookiecutter/ with the real cookiecutter (Debian's package, 1.7.3) and the
# values this template's step passes for testdata/values.yaml.
set -eu
cd "$(dirname "$0")"
out=$(mktemp -d)
HOME=$out cookiecutter --no-input -o "$out" ../skeleton "project_name=Invoice Tools" \
  "description=Helpers for parsing supplier invoices" python_version=3.12 use_docker=n
rm -rf cookiecutter
mv "$out/invoice_tools" cookiecutter
rm -rf "$out"
