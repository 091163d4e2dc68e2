"""One module per group of subcommands; each imports only what its plain path needs."""
