module github.com/billpay/fx-rates

go 1.22
