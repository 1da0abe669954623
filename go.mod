module tempc

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/lanl/highs v1.0.3
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	gonum.org/v1/gonum v0.17.0
)

require (
	golang.org/x/exp v0.0.0-20221217163422-3c43f8badb15 // indirect
	golang.org/x/text v0.23.0 // indirect
)
