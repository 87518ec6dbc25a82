module openagentio-nest.test/gopeer

go 1.25.0

require github.com/ModulationAI/openagentio v0.3.0

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.18.5 // indirect
	github.com/nats-io/nats.go v1.51.0 // indirect
	github.com/nats-io/nkeys v0.4.15 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.50.0 // indirect
	golang.org/x/sys v0.43.0 // indirect
)

// The upstream runtime as it ships, from the copy every checkout and CI has next to the repository
// (../shared/peers/README.md): the Go module proxy refuses this module.
replace github.com/ModulationAI/openagentio => ../../../../shared/peers/openagentio-go
