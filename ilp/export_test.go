package ilp

// Enumerate lets the external tests (package ilp_test, which may import
// the HiGHS solver that imports ilp) walk every assignment.
var Enumerate = enumerate
