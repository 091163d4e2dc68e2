"""The console's widgets: each shows one part of the engine's model, nothing else."""
