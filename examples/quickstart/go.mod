module example.com/quickstart

go 1.26

require github.com/tempc/tempc v0.0.0

require (
	gonum.org/v1/gonum v0.17.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/tempc/tempc => ../..
