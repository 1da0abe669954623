package plan

import _ "embed"

// Schema is the JSON Schema (draft 2020-12) of the plan file (WriteJSON, ReadJSON),
// as `tempc schema` prints it.
//
//go:embed plan.schema.json
var Schema []byte
