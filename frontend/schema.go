package frontend

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of the tempc JSON graph (WriteGraphJSON, ReadGraphJSON),
// as `tempc schema` prints it.
//
//go:embed graph.schema.json
var Schema []byte
