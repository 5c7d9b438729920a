module github.com/paperperps/exchange

go 1.26

require (
	github.com/cockroachdb/datadriven v1.0.3
	github.com/emirpasic/gods/v2 v2.0.0-alpha
	github.com/shopspring/decimal v1.6.0
)

require github.com/pmezard/go-difflib v1.0.0 // indirect
