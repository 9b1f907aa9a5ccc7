// Package spec defines rigor's on-disk and wire formats: the versioned,
// schema-tagged records that describe what a run ran on (code snapshot,
// environment, config, data inputs), the Light toolkit formats rigor reads and
// writes, their JSON Schemas, and the rules that keep secrets out of them.
//
// spec does no I/O beyond byte slices, io.Reader and io.Writer, and imports
// nothing else of rigor's, so every other package can depend on it.
//
// # Canonical JSON
//
// Every record is stored as canonical JSON, so that equal records have equal
// bytes and therefore equal digests. [Canonical] produces it:
//
//   - objects have their keys sorted by byte order, each key once;
//   - there is no whitespace outside strings;
//   - in strings, '"' and '\' are escaped with a backslash, newline, carriage
//     return, tab, backspace and form feed as \n \r \t \b \f, other control
//     characters as \u00XX (lower-case hex); everything else, non-ASCII
//     included, is written as UTF-8 as it is;
//   - an integer is written in decimal without exponent or fraction (1.0 is 1);
//     any other number is written in the shortest form that round-trips a
//     float64, as ECMAScript's Number.prototype.toString does.
//
// For example the YAML config
//
//	seed: {value: 42, role: fixed_repro}
//	lr: 1.0e-3
//
// canonicalises to
//
//	{"lr":0.001,"seed":{"role":"fixed_repro","value":42}}
//
// [ParseJSON] is the strict reader that goes with it: it rejects duplicate
// keys, trailing data and invalid UTF-8, and keeps numbers exact.
//
// # Records
//
// A record is a small JSON object whose "schema" member names its format and
// version, for example "rigor.code_snapshot.v1". Decoders are strict: unknown
// members, a wrong or missing "schema" and trailing data are errors
// wrapping [ErrUnknownField], [ErrSchema] or [ErrSyntax]. The JSON Schemas in
// schemas/ (see [SchemaFS]) document each format; a test validates every
// encoded record against its schema.
//
//   - [CodeRecord] "rigor.code_snapshot.v1": the git state (commit, dirty
//     flag, diff blob, submodules) and the tree of source files a run can
//     import.
//   - [EnvRecord] "rigor.environment.v1": OS, CPU, memory, GPUs, Python
//     interpreter and distributions, lock files, allow-listed environment
//     variables, locale, time zone and rigor's own build.
//   - [ConfigRecord] "rigor.config.v1": a matrix-row config, as given and in
//     canonical form, and the schema it was validated against.
//   - [InputRecord] "rigor.input.v1": a data input with its role, revision and
//     split, identified by BLAKE3 (the store) and SHA-256 (Light lineage).
//
// A fact that could not be collected is recorded as a string that starts with
// [Unavailable] ("UNAVAILABLE: "), followed by the reason.
//
// # Secrets
//
// [RedactArgv] and [RedactEnv] are the one implementation of the rule that
// credentials never enter the store: values of secret-bearing flags
// (--token, --api-key, --password, --secret and their relatives) and of
// environment variables whose name or value looks like a credential are
// replaced by [Redacted].
package spec
