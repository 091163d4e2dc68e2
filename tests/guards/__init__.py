"""Risk guards, the circuit breaker and gas: unit tests of the rules, the breaker's
states, trigger coalescing, and scenarios on a real engine over the simulated market."""
