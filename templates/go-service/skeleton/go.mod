module ${{ values.module }}

go 1.22
