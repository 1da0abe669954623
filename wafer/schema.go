package wafer

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of the wafer file (WriteJSON, ReadJSON),
// as `tempc schema` prints it.
//
//go:embed wafer.schema.json
var Schema []byte
